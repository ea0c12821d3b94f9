using System.CommandLine;
using Spectre.Console;
using Tbar.Pipelines;
using Tbar.Analysis;
using Tbar.Reporting;
using Tbar.Unlearning;

namespace Tbar.Cli;

/// <summary>
/// <c>tbar analyze disentangle|vectors|forget-size|transfer|relapse</c>: weight-space diagnostics. Each writes JSON, a PNG and a
/// <c>section.md</c> that <c>tbar report</c> gathers.
/// </summary>
static partial class AnalyzeCommand
{
    public static Command Create(TextWriter stdout)
    {
        var command = new Command("analyze", "Weight-space diagnostics: is the backdoor a separate direction?");
        command.Subcommands.Add(Disentangle(stdout));
        command.Subcommands.Add(Vectors(stdout));
        command.Subcommands.Add(ForgetSize(stdout));
        command.Subcommands.Add(Transfer(stdout));
        command.Subcommands.Add(Relapse(stdout));
        command.Subcommands.Add(PathCommand(stdout));
        return command;
    }

    static Option<string> UnlearnedOption() => new("--unlearned")
    {
        Description = "Output folder of `tbar unlearn --forget trigger:SPEC` (model, τ, α*, trigger, target)",
        Required = true,
    };

    static Option<string> PretrainedOption() => new("--pretrained")
    {
        Description = "θ_pre, the model before the backdoor",
        DefaultValueFactory = _ => ModelNames.MiniClip,
    };

    static Option<string> DataOption() => new("--data") { Description = "Data spec", DefaultValueFactory = _ => Defaults.Data };
    static Option<string> OutOption() => new("--out") { Description = "Output folder", Required = true };

    static Command Disentangle(TextWriter stdout)
    {
        var unlearned = UnlearnedOption();
        var pretrained = PretrainedOption();
        var data = DataOption();
        var grid = new Option<int>("--grid") { Description = "Points per axis", DefaultValueFactory = _ => 9 };
        var range = new Option<double>("--range") { Description = "Each α runs over [−range, range]", DefaultValueFactory = _ => 2 };
        var images = new Option<int>("--images") { Description = "Clean and triggered test images each", DefaultValueFactory = _ => 500 };
        var output = OutOption();
        var command = new Command("disentangle", "Disentanglement error ξ(α_c, α_t) over a grid; heatmap + JSON.")
            { unlearned, pretrained, data, grid, range, images, output };
        command.SetAction(r =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using var vectors = RunVectors.Load(r.GetValue(unlearned)!, ModelFlag.Resolve(r.GetValue(pretrained)!, stdout));
            using var splits = Workbench.LoadData(r.GetValue(data)!, vectors.Pretrained);
            var result = ProgressBar.Run(stdout, "ξ grid",
                p => Disentanglement.OnTestSplit(vectors, splits, r.GetValue(images), r.GetValue(range), r.GetValue(grid), p));
            var run = vectors.Run;
            var settings = new DisentangleSettings(r.GetValue(unlearned)!, run.Alpha, run.TriggerSpec, run.Target, r.GetValue(images));
            AnalysisReport.Disentangle(r.GetValue(output)!, Environment.CommandLine, settings, result, clock.Elapsed.TotalSeconds);
            stdout.WriteLine($"mean ξ {result.Points.Average(q => q.Xi):F3} over {result.Points.Count} points in {result.Seconds:F0} s; " +
                $"wrote {r.GetValue(output)}");
            return 0;
        });
        return command;
    }

    static Command Vectors(TextWriter stdout)
    {
        var unlearned = UnlearnedOption();
        var pretrained = PretrainedOption();
        var output = OutOption();
        var command = new Command("vectors", "Per-block norms of τ_t and τ_c, their cosine, and τ_t's energy per block.")
            { unlearned, pretrained, output };
        command.SetAction(r =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using var vectors = RunVectors.Load(r.GetValue(unlearned)!, ModelFlag.Resolve(r.GetValue(pretrained)!, stdout));
            var stats = VectorStats.Compute(vectors.Trigger, vectors.Clean);
            using var whole = vectors.WholeFineTune();
            var results = new VectorsResults(stats, VectorStats.Compute(vectors.Trigger, whole).Cosine);
            var settings = new VectorsSettings(r.GetValue(unlearned)!, vectors.Run.Alpha);
            AnalysisReport.Vectors(r.GetValue(output)!, Environment.CommandLine, settings, results, clock.Elapsed.TotalSeconds);
            var table = new Table().AddColumns("block", "‖τ_t‖", "‖τ_c‖", "cos", "τ_t energy");
            foreach (var b in stats.Blocks)
                table.AddRow(b.Block, $"{b.TriggerNorm:G4}", $"{b.CleanNorm:G4}", $"{b.Cosine:F4}", $"{b.TriggerEnergyShare:P1}");
            Output.Console(stdout).Write(table);
            stdout.WriteLine($"cos(τ_t, τ_c) = {stats.Cosine:F4}; wrote {r.GetValue(output)}");
            return 0;
        });
        return command;
    }
}
