using System.CommandLine;
using Tbar.Analysis;
using Tbar.Reporting;

namespace Tbar.Cli;

/// <summary><c>tbar analyze relapse</c>: whether a negated model's relapse slides back along τ or comes around it.</summary>
static partial class AnalyzeCommand
{
    static Command Relapse(TextWriter stdout)
    {
        var unlearned = UnlearnedOption();
        var multiples = new Option<double[]>("--multiples")
        {
            Description = "Negation depths as multiples of the run's α* (α = 0, the control, is always measured)",
            DefaultValueFactory = _ => [1, 1.5, 2],
            AllowMultipleArgumentsPerToken = true,
        };
        var output = OutOption();
        var command = new Command("relapse", "Split the relapse fine-tune's weight change into its part along τ and the rest; ASR of each.")
            { unlearned, multiples, output };
        command.SetAction(r =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            string dir = r.GetValue(unlearned)!;
            var run = UnlearnedRun.Read(dir);
            var record = Unlearning.UnlearnRecord.Load(dir);
            var result = RelapseAnatomy.Run(dir, run, record, r.GetValue(multiples)!, Output.Status(stdout));
            var settings = new RelapseSettings(dir, run.Alpha, run.TriggerSpec, run.Target, r.GetValue(multiples)!);
            stdout.Write(AnalysisReport.Relapse(r.GetValue(output)!, Environment.CommandLine, settings, result, record.Seed,
                clock.Elapsed.TotalSeconds));
            return 0;
        });
        return command;
    }
}
