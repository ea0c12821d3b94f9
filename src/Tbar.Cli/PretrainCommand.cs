using System.CommandLine;
using Tbar.Io;
using Tbar.Pipelines;

namespace Tbar.Cli;

/// <summary><c>tbar pretrain</c>: trains the embedded mini-CLIP on Fashion-MNIST half A and writes an HF-layout folder.</summary>
static class PretrainCommand
{
    public static Command Create(TextWriter stdout)
    {
        var d = new PretrainOptions();
        var output = new Option<string>("--out") { Description = "Output model folder", DefaultValueFactory = _ => "models/mini-clip" };
        var epochs = new Option<int>("--epochs") { Description = "Passes over half A", DefaultValueFactory = _ => d.Epochs };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate", DefaultValueFactory = _ => d.LearningRate };
        var seed = new Option<long>("--seed") { Description = "Seed", DefaultValueFactory = _ => d.Seed };
        var data = new Option<string>("--data-dir") { Description = "Fashion-MNIST idx folder", DefaultValueFactory = _ => d.DataFolder };
        var command = new Command("pretrain", "Pre-train the embedded mini-CLIP contrastively on Fashion-MNIST half A.") { output, epochs, lr, seed, data };
        command.SetAction(r =>
        {
            var options = d with { Epochs = r.GetValue(epochs), LearningRate = r.GetValue(lr), Seed = r.GetValue(seed), DataFolder = r.GetValue(data)! };
            return Run(options, r.GetValue(output)!, stdout, Environment.CommandLine);
        });
        return command;
    }

    static int Run(PretrainOptions options, string outDir, TextWriter stdout, string commandLine)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var result = ProgressBar.Run(stdout, "pretrain", p => Pretrain.Run(options, outDir, p));
        new RunRecord(commandLine, options, options.Seed, PretrainSummary.From(result), clock.Elapsed.TotalSeconds)
            .Save(Path.Combine(outDir, "pretrain.json"));
        stdout.WriteLine($"wrote {outDir}: zero-shot test accuracy {result.ZeroShotTestAccuracy}, {result.Parameters:N0} parameters, " +
            $"{clock.Elapsed.TotalMinutes:F1} min");
        return 0;
    }
}
