using System.CommandLine;
using Tbar.Analysis;
using Tbar.Reporting;

namespace Tbar.Cli;

/// <summary><c>tbar analyze path</c>: distance, direction and the straight path from the backdoored model to a method's output.</summary>
static partial class AnalyzeCommand
{
    static Command PathCommand(TextWriter stdout)
    {
        var unlearned = UnlearnedOption();
        var points = new Option<int>("--points") { Description = "Points on the path, end points included", DefaultValueFactory = _ => 11 };
        var output = OutOption();
        var command = new Command("path", "‖θ_out − θ_b‖, cos with τ, and validation clean loss, CA and ASR along the straight path θ_b → θ_out.")
            { unlearned, points, output };
        command.SetAction(r =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            string dir = r.GetValue(unlearned)!;
            var result = PathAnalysis.Run(dir, r.GetValue(points));
            stdout.Write(AnalysisReport.StraightPath(r.GetValue(output)!, Environment.CommandLine, dir, result,
                Unlearning.UnlearnRecord.Load(dir).Seed,
                clock.Elapsed.TotalSeconds));
            return 0;
        });
        return command;
    }
}
