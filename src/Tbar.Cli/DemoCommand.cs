using System.CommandLine;
using Spectre.Console;
using Tbar.Pipelines;
using Tbar.Reporting;
using Tbar.Unlearning;

namespace Tbar.Cli;

/// <summary><c>tbar demo</c>: the main job. Backdoor the shipped mini-CLIP, clean it with TBAR, its variant and baselines, report.</summary>
static class DemoCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Option<string>("--model")
        {
            Description = "Clean model to start from: a folder, mini-clip (the default, shipped) or rn18-clip (built on first use)",
        };
        var data = new Option<string>("--data")
        {
            Description = "Data spec: fashion-mnist[:DIR], cifar10:DIR, cifar100:DIR, folder:DIR", DefaultValueFactory = _ => Defaults.Data,
        };
        var output = new Option<string>("--out") { Description = "Output folder", DefaultValueFactory = _ => "tbar-demo" };
        var seed = new Option<long>("--seed") { Description = "Seed", DefaultValueFactory = _ => 0 };
        var trigger = new Option<string>("--trigger") { Description = "Trigger spec", DefaultValueFactory = _ => "badnet:size=3" };
        var target = new Option<string>("--target") { Description = "Target class", DefaultValueFactory = _ => "Bag" };
        var quick = new Option<bool>("--quick")
            { Description = "Skip the clean reference and train the attack for 1 epoch (whatever --attack-epochs says)" };
        var probe = new DemoOptions("");
        var epochs = new Option<int>("--attack-epochs")
        {
            Description = "Epochs of the attack and the clean reference over the 30,000-image pool", DefaultValueFactory = _ => probe.AttackEpochs,
        };
        var valSize = new Option<int>("--val-size")
        {
            Description = "Validation images (clean; as many triggered non-target ones)", DefaultValueFactory = _ => probe.ValSize,
        };
        var methods = new Option<string>("--methods")
        {
            Description = $"Comma-separated methods (default {string.Join(",", DemoOptions.DefaultMethods)}; " +
                $"on a ResNet tower {string.Join(",", DemoOptions.ResNetMethods)})",
        };
        var agnostic = new Option<bool>("--agnostic")
        {
            Description = "Also scan the backdoored model and clean it on the inverted trigger (TBAR, GA)",
        };
        var (optionsFile, caFloor) = MethodFlags.Create();
        var command = new Command("demo", "Backdoor a clean CLIP (the shipped mini-CLIP by default), remove the backdoor with TBAR and " +
            "baselines, report CA/ASR.")
            { model, data, output, seed, trigger, target, quick, epochs, valSize, methods, agnostic, optionsFile, caFloor };
        command.SetAction(r =>
        {
            bool q = r.GetValue(quick);
            string path = ModelFlag.Resolve(r.GetValue(model) ?? ModelNames.MiniClip, stdout);
            var options = new DemoOptions(path, r.GetValue(data)!, Trigger: r.GetValue(trigger)!, Target: r.GetValue(target)!, Seed: r.GetValue(seed),
                Methods: r.GetValue(methods)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
                CleanReference: !q, AttackEpochs: q ? 1 : r.GetValue(epochs), ValSize: r.GetValue(valSize),
                MethodSettings: MethodFlags.Resolve(r.GetValue(optionsFile), r.GetValue(caFloor)),
                Agnostic: r.GetValue(agnostic) ? Tbar.Inversion.ScanCalibration.Load(ScanCommand.ShippedCalibration) : null);
            return Run(options.ScaledFor(Tbar.Models.ClipCheckpoint.ReadConfig(path).Vision), r.GetValue(output)!, stdout);
        });
        return command;
    }

    static int Run(DemoOptions options, string outDir, TextWriter stdout)
    {
        foreach (var m in options.MethodList) Tbar.Unlearning.Methods.Check(m);
        Tbar.Io.AtomicFolder.Check(outDir, "results.json", options.Model);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var console = Output.Console(stdout);
        var phases = new PhaseClock(stdout);
        var result = ProgressBar.Run(stdout, "demo", p => DemoPipeline.Run(options, phases.Status, p));
        phases.Status("report");
        DemoReport.Write(outDir, result, options, Environment.CommandLine, clock.Elapsed.TotalSeconds);
        console.Write(Table(result));
        stdout.WriteLine("recommended: " + Recommendation.For(result).Text.Replace("**", ""));
        stdout.WriteLine($"phases: {phases.Summary()}");
        stdout.WriteLine($"wrote {outDir}/results.json, report.md, alpha.png, methods.png ({clock.Elapsed.TotalSeconds:F0} s)");
        return 0;
    }

    static Table Table(DemoResult r)
    {
        var table = new Table().AddColumns("model", "CA", "ASR", "BD-ACC", "α", "relapse ASR", "s");
        void Add(string name, Tbar.Evaluation.AttackMetrics m, double? alpha, double? relapse, double s) =>
            table.AddRow(Markup.Escape(name), $"{m.CleanAccuracy.Value:P2}", $"{m.AttackSuccess?.Value:P2}", $"{m.BackdoorAccuracy?.Value:P2}",
                alpha?.ToString("G3") ?? "-", relapse?.ToString("P2") ?? "-", $"{s:F0}");
        Add("pretrained", r.Pretrained, null, null, 0);
        if (r.CleanReference != null) Add("clean reference", r.CleanReference.Test, null, null, r.CleanReference.Seconds);
        Add("backdoored", r.Backdoored.Test, null, null, r.Backdoored.Seconds);
        foreach (var m in r.Methods) Add(m.Name, m.Test, m.Alpha, m.RelapseAsr, m.Seconds);
        return table;
    }
}
