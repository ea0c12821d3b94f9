using Tbar.Cli;

return TbarCli.Run(args, Console.Out, Console.Error);
