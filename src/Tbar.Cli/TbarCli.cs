using System.CommandLine;

namespace Tbar.Cli;

/// <summary>Builds the command tree; <see cref="Run"/> is the in-process entry point used by Program and tests.</summary>
public static class TbarCli
{
    /// <summary>Exit code of a user-facing error (bad input, malformed file, impossible request).</summary>
    public const int UserError = 1;
    /// <summary>Exit code of an unexpected exception: a bug in Tbar or its libraries, reported without aborting.</summary>
    public const int InternalError = 2;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var (root, verbose, compute) = Build(stdout, stderr);
        var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        ParseResult? parsed = null;
        try
        {
            parsed = root.Parse(args);
            if (parsed.Errors.Count == 0)
            {
                compute.Apply(parsed);
                RequireWritableOut(parsed);
            }
            return parsed.Invoke(config);
        }
        catch (Exception e)
        {
            return Report(e, parsed?.GetValue(verbose) ?? args.Contains("--verbose"), stderr);
        }
    }

    /// <summary>
    /// Every command's --out (a folder or file, given or by default) is checked for writing before the command computes
    /// anything, so a read-only or forbidden location is an error at the start, not after hours (help is left alone).
    /// </summary>
    static void RequireWritableOut(ParseResult parsed)
    {
        if (parsed.Action is System.CommandLine.Help.HelpAction) return;
        if (parsed.CommandResult.Command.Options.FirstOrDefault(o => o.Name == "--out") is not Option<string> option) return;
        if (parsed.GetValue(option) is { Length: > 0 } path) Tbar.Io.AtomicFolder.RequireWritable(path);
    }

    /// <summary>The whole command tree, every command with its options (what tests and the docs check read).</summary>
    public static RootCommand Root(TextWriter stdout, TextWriter stderr) => Build(stdout, stderr).Root;

    static (RootCommand Root, Option<bool> Verbose, ComputeFlags Compute) Build(TextWriter stdout, TextWriter stderr)
    {
        var verbose = new Option<bool>("--verbose") { Description = "On an error, also print the stack trace", Recursive = true };
        var compute = ComputeFlags.Create();
        var root = new RootCommand("Tbar: remove backdoors from CLIP models by trigger-vector arithmetic.")
        {
            verbose, compute.Device, compute.Threads, compute.ActivationBudget,
        };
        foreach (var command in Commands(stdout)) root.Add(command);
        root.Add(PlanCommand.Create(stdout, stderr));
        return (root, verbose, compute);
    }

    /// <summary>The one place exceptions become messages: a TbarException is the user's problem, anything else is ours.</summary>
    public static int Report(Exception e, bool verbose, TextWriter stderr)
    {
        if (e is TbarException)
        {
            stderr.WriteLine($"error: {e.Message}");
            if (verbose) stderr.WriteLine(e);
            return UserError;
        }
        stderr.WriteLine($"internal error: {e.GetType().Name}: {e.Message}");
        stderr.WriteLine(verbose ? e.ToString() : "(a bug in Tbar, not in your input; run again with --verbose for the stack trace)");
        return InternalError;
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
        DoctorCommand.Create(stdout),
    ];
}
