using System.CommandLine;

namespace Tbar.Cli;

/// <summary>Builds the command tree; <see cref="Run"/> is the in-process entry point used by Program and tests.</summary>
public static class TbarCli
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("Tbar: remove backdoors from CLIP models by trigger-vector arithmetic.");
        foreach (var command in Commands(stdout)) root.Add(command);
        var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        try
        {
            return root.Parse(ModelNames.Rewrite(args, stdout)).Invoke(config);
        }
        catch (TbarException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    static IEnumerable<Command> Commands(TextWriter stdout) =>
    [
        InspectCommand.Create(stdout),
        EmbedCommand.Create(stdout),
        ZeroShotCommand.Create(stdout),
        InitCommand.Create(stdout),
        PretrainCommand.Create(stdout),
        AttackCommand.Create(stdout),
        EvalCommand.Create(stdout),
        ExperimentCommand.Create(stdout),
        UnlearnCommand.Create(stdout),
        ScanCommand.Create(stdout),
        AnalyzeCommand.Create(stdout),
        ReportCommand.Create(stdout),
        VectorCommand.Create(stdout),
        DemoCommand.Create(stdout),
    ];
}
