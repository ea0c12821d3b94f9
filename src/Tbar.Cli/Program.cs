using Tbar;
using Tbar.Cli;

// Before any TorchSharp call: native settings that must precede libtorch (docs/speed.md).
NativeStartup.Initialize();
return TbarCli.Run(args, Console.Out, Console.Error);
