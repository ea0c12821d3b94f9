using System.CommandLine;
using Tbar.Io;
using Tbar.Models;
using Tbar.Pipelines;
using Tbar.Reporting;
using Tbar.Unlearning;

namespace Tbar.Cli;

/// <summary><c>tbar attack</c>: plant a backdoor and write the backdoored model with attack.json.</summary>
static class AttackCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Option<string>("--model") { Description = "Model folder or .safetensors file",
            DefaultValueFactory = _ => ModelNames.MiniClip };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Folder with vocab.json + merges.txt (open_clip models)" };
        var data = new Option<string>("--data") { Description = "Data spec: fashion-mnist[:DIR], cifar10:DIR, cifar100:DIR, folder:DIR",
            DefaultValueFactory = _ => Defaults.Data };
        var trigger = new Option<string>("--trigger") { Description = "Trigger spec, e.g. badnet:size=3, blended:ratio=0.2, wanet, sig, badclip:size=4", Required = true };
        var target = new Option<string>("--target") { Description = "Target class (name or index)", Required = true };
        var rate = new Option<double>("--poison-rate") { Description = "Poisoned share of the training set, in (0,1]",
            DefaultValueFactory = _ => Defaults.PoisonRate };
        var mode = new Option<string>("--mode") { Description = "supervised or contrastive", DefaultValueFactory = _ => "supervised" };
        var epochs = new Option<int?>("--epochs") { Description = "Training epochs (default: the mode's recipe)" };
        var lr = new Option<double?>("--lr") { Description = "Peak learning rate (default: the mode's recipe)" };
        var seed = new Option<long>("--seed") { Description = "Seed", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "Output folder for the backdoored model", Required = true };
        var command = new Command("attack", "Backdoor a model by poisoned training.") { model, tokenizer, data, trigger, target, rate, mode,
            epochs, lr, seed, output };
        command.SetAction(r =>
        {
            var m = ParseMode(r.GetValue(mode)!);
            var recipe = BackdoorAttack.DefaultTrain(m);
            recipe = recipe with { Epochs = r.GetValue(epochs) ?? recipe.Epochs, LearningRate = r.GetValue(lr) ?? recipe.LearningRate };
            var options = new AttackOptions(r.GetValue(trigger)!, r.GetValue(target)!, r.GetValue(rate), m, recipe, r.GetValue(seed));
            return Run(ModelFlag.Resolve(r.GetValue(model)!, stdout), r.GetValue(tokenizer), r.GetValue(data)!, options, r.GetValue(output)!, stdout);
        });
        return command;
    }

    public static AttackMode ParseMode(string mode) => mode switch
    {
        "supervised" => AttackMode.Supervised,
        "contrastive" => AttackMode.Contrastive,
        _ => throw new TbarException($"unknown --mode '{mode}' (valid: supervised, contrastive)"),
    };

    static int Run(string modelPath, string? tokenizerDir, string dataSpec, AttackOptions options, string outDir, TextWriter stdout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (!(options.PoisonRate > 0 && options.PoisonRate <= 1)) throw new TbarException($"--poison-rate {options.PoisonRate} must be in (0, 1]");
        AtomicFolder.Check(outDir, "attack.json", modelPath, tokenizerDir);
        AtomicFolder.RequireRoom(outDir, new FileInfo(ClipCheckpoint.Resolve(modelPath).Weights).Length);
        using var clip = Workbench.LoadModel(modelPath);
        var tokenizer = Workbench.Tokenizer(clip, tokenizerDir);
        using var data = Workbench.LoadData(dataSpec, clip);
        string patchPath = Path.Combine(Path.GetFullPath(outDir), "patch.png");
        var outcome = ProgressBar.Run(stdout, "attack", p => BackdoorAttack.Run(clip, tokenizer, data.Train, data.TrainIndices, data.Test,
            options, patchPath, p));
        var settings = new AttackSettings(modelPath, dataSpec, options);
        AttackReport.Write(outDir, clip, Environment.CommandLine, settings, outcome, clock.Elapsed.TotalSeconds, modelPath, tokenizerDir);
        Output.Console(stdout).Write(Report.AttackTable(outcome));
        stdout.WriteLine($"wrote {outDir} (attack.json, {CheckpointOrigin.WeightsFileName(clip.Origin!.Layout)})");
        return 0;
    }
}
