using System.CommandLine;
using Tbar.Pipelines;

namespace Tbar.Cli;

/// <summary>
/// <c>tbar pretrain</c>: trains the embedded mini-CLIP (<c>--arch mini-clip</c>, HF layout) or builds rn18-clip from the
/// ResNet18 package (<c>--arch rn18-clip</c>, Tbar layout) on Fashion-MNIST half A.
/// </summary>
static class PretrainCommand
{
    public static Command Create(TextWriter stdout)
    {
        var d = new PretrainOptions();
        var r18 = new Rn18ClipOptions();
        var arch = new Option<string>("--arch") { Description = "mini-clip or rn18-clip", DefaultValueFactory = _ => "mini-clip" };
        var output = new Option<string>("--out") { Description = "Output model folder (default models/ARCH)" };
        var epochs = new Option<int?>("--epochs")
        {
            Description = $"Passes over half A (mini-clip {d.Epochs}; rn18-clip: locked-tower epochs, {r18.LockedEpochs})",
        };
        var lr = new Option<double?>("--lr") { Description = $"Peak learning rate (mini-clip {d.LearningRate}, rn18-clip {r18.LearningRate})" };
        var size = new Option<int>("--image-size") { Description = "rn18-clip: working side of the tower", DefaultValueFactory = _ => r18.ImageSize };
        var unlocked = new Option<int>("--unlocked-epochs")
        {
            Description = "rn18-clip: epochs with the tower trained too", DefaultValueFactory = _ => r18.UnlockedEpochs,
        };
        var unlockedLr = new Option<double>("--unlocked-lr")
        {
            Description = "rn18-clip: peak rate of those epochs", DefaultValueFactory = _ => r18.UnlockedLearningRate,
        };
        var seed = new Option<long>("--seed") { Description = "Seed", DefaultValueFactory = _ => d.Seed };
        var data = new Option<string>("--data-dir") { Description = "Fashion-MNIST idx folder", DefaultValueFactory = _ => d.DataFolder };
        var command = new Command("pretrain", "Pre-train the embedded mini-CLIP, or build rn18-clip, contrastively on Fashion-MNIST half A.")
            { arch, output, epochs, lr, size, unlocked, unlockedLr, seed, data };
        command.SetAction(r =>
        {
            string name = r.GetValue(arch)!, outDir = r.GetValue(output) ?? $"models/{name}";
            return name switch
            {
                "mini-clip" => Run(d with
                {
                    Epochs = r.GetValue(epochs) ?? d.Epochs, LearningRate = r.GetValue(lr) ?? d.LearningRate, Seed = r.GetValue(seed),
                    DataFolder = r.GetValue(data)!,
                }, (o, dir, p) => Pretrain.Run(o, dir, p), o => o.Seed, outDir, stdout),
                "rn18-clip" => Run(r18 with
                {
                    ImageSize = r.GetValue(size), LockedEpochs = r.GetValue(epochs) ?? r18.LockedEpochs,
                    LearningRate = r.GetValue(lr) ?? r18.LearningRate, UnlockedEpochs = r.GetValue(unlocked),
                    UnlockedLearningRate = r.GetValue(unlockedLr), Seed = r.GetValue(seed), DataFolder = r.GetValue(data)!,
                }, (o, dir, p) => Rn18Clip.Run(o, dir, p), o => o.Seed, outDir, stdout),
                _ => throw new TbarException($"unknown --arch '{name}' (mini-clip, rn18-clip)"),
            };
        });
        return command;
    }

    static int Run<T>(T options, Func<T, string, IProgress<TrainProgress>?, PretrainResult> work, Func<T, long> seed, string outDir,
        TextWriter stdout) where T : notnull
    {
        var (result, seconds) = ProgressBar.Run(stdout, "pretrain",
            p => PretrainedModel.Build(outDir, Environment.CommandLine, options, seed(options), (dir, q) => work(options, dir, q), p));
        stdout.WriteLine($"wrote {outDir}: zero-shot test accuracy {result.ZeroShotTestAccuracy}, {result.Parameters:N0} parameters, " +
            $"{seconds / 60:F1} min");
        return 0;
    }
}
