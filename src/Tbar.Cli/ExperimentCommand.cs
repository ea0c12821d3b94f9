using System.CommandLine;
using System.Text;
using Spectre.Console;
using Tbar.Attacks;
using Tbar.Data;
using Tbar.Evaluation;
using Tbar.Io;
using Tbar.Models;
using Tbar.Pipelines;

namespace Tbar.Cli;

/// <summary>
/// <c>tbar experiment attacks</c>: the README's attack table. On the mini-CLIP (half B, one poison rate), each trigger in
/// supervised mode, BadNet in contrastive mode, a clean fine-tune with the same recipe, and the pretrained model.
/// </summary>
static class ExperimentCommand
{
    static readonly string[] SupervisedTriggers = ["badnet:size=3", "blended:ratio=0.2", "wanet:k=4,s=6", "sig:amp=0.0784,freq=6", "badclip:size=4,steps=100"];

    public static Command Create(TextWriter stdout)
    {
        var output = new Option<string>("--out") { Description = "Output folder", DefaultValueFactory = _ => "experiments/attacks" };
        var target = new Option<string>("--target") { Description = "Target class", DefaultValueFactory = _ => "Bag" };
        var rate = new Option<double>("--poison-rate") { Description = "Poisoned share", DefaultValueFactory = _ => 0.03 };
        var seed = new Option<long>("--seed") { Description = "Seed", DefaultValueFactory = _ => 0 };
        var attacks = new Command("attacks", "Backdoor the mini-CLIP with every trigger; write results.json and table.md.") { output, target, rate, seed };
        attacks.SetAction(r => RunAttacks(r.GetValue(output)!, r.GetValue(target)!, r.GetValue(rate), r.GetValue(seed), stdout));
        var seeds = new Option<int>("--seeds") { Description = "Number of seeds (0..n-1)", DefaultValueFactory = _ => 3 };
        var unlearnOut = new Option<string>("--out") { Description = "Output folder", DefaultValueFactory = _ => "experiments/unlearning" };
        var unlearning = new Command("unlearning", "The demo for several seeds; mean ± std of CA, ASR and retention per method.") { seeds, unlearnOut };
        unlearning.SetAction(r => RunUnlearning(r.GetValue(seeds), r.GetValue(unlearnOut)!, stdout));
        return new Command("experiment", "Reproduce a README table.")
            { attacks, unlearning, AgnosticCommand.Create(stdout), ArithmeticCommand.Create(stdout), MainCommand.Create(stdout),
                ComposeCommand.Create(stdout) };
    }

    sealed record Row(string Setting, string Trigger, AttackMetrics Metrics, double Seconds);

    static int RunAttacks(string outDir, string target, double rate, long seed, TextWriter stdout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string model = Defaults.MiniClip;
        Directory.CreateDirectory(outDir);
        using var data = DataSpec.Load("fashion-mnist", 28);
        var rows = new List<Row> { Pretrained(model, data) };
        rows.Add(Clean(model, data, seed, stdout));
        foreach (var trigger in SupervisedTriggers)
            rows.AddRange(Attack(model, data, trigger, target, rate, AttackMode.Supervised, seed, outDir, stdout));
        rows.AddRange(Attack(model, data, "badnet:size=3", target, rate, AttackMode.Contrastive, seed, outDir, stdout));
        var results = rows.Select(r => new { setting = r.Setting, trigger = r.Trigger, metrics = Report.Metrics(r.Metrics), seconds = r.Seconds }).ToList();
        new RunRecord(Environment.CommandLine, new { target, poison_rate = rate, model }, seed, results, clock.Elapsed.TotalSeconds)
            .Save(Path.Combine(outDir, "results.json"));
        string table = Markdown(rows, target, rate);
        AtomicFile.WriteText(Path.Combine(outDir, "table.md"), table);
        stdout.WriteLine(table);
        return 0;
    }

    static Row Pretrained(string model, DataSplits data)
    {
        using var clip = ClipCheckpoint.Load(model);
        using var head = ZeroShotHead.ForClasses(clip, Tokenizers.For(clip, null), data.Test.ClassNames);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var m = Metrics.Evaluate(clip, head, data.Test, data.Test.AllIndices());
        return new Row("pretrained", "-", m, clock.Elapsed.TotalSeconds);
    }

    static Row Clean(string model, DataSplits data, long seed, TextWriter stdout)
    {
        using var clip = ClipCheckpoint.Load(model);
        var tokenizer = Tokenizers.For(clip, null);
        var options = new AttackOptions("", "0", 0, AttackMode.Supervised, BackdoorAttack.DefaultTrain(AttackMode.Supervised), seed);
        var training = ProgressBar.Run(stdout, "clean fine-tune", p => BackdoorAttack.TrainClean(clip, tokenizer, data.Train, data.TrainIndices, options, p));
        using var head = ZeroShotHead.ForClasses(clip, tokenizer, data.Test.ClassNames);
        return new Row("clean fine-tune (supervised)", "-", Metrics.Evaluate(clip, head, data.Test, data.Test.AllIndices()), training.Seconds);
    }

    static IEnumerable<Row> Attack(string model, DataSplits data, string trigger, string target, double rate, AttackMode mode, long seed,
        string outDir, TextWriter stdout)
    {
        using var clip = ClipCheckpoint.Load(model);
        var tokenizer = Tokenizers.For(clip, null);
        var options = new AttackOptions(trigger, target, rate, mode, BackdoorAttack.DefaultTrain(mode), seed);
        string patchPath = Path.Combine(outDir, TriggerSpec.Parse(trigger).Name, "patch.png");
        using var pristine = ClipCheckpoint.Load(model);
        var outcome = ProgressBar.Run(stdout, $"{mode} {trigger}", p => BackdoorAttack.Run(clip, tokenizer, data.Train, data.TrainIndices, data.Test, options, patchPath, p));
        if (outcome.Patch is { } patch) ImageFile.SavePng(patchPath, patch);
        using var head = ZeroShotHead.ForClasses(pristine, tokenizer, data.Test.ClassNames);
        var before = Metrics.Evaluate(pristine, head, data.Test, data.Test.AllIndices(), outcome.Trigger, outcome.Target);
        string setting = mode == AttackMode.Supervised ? "supervised" : "contrastive";
        return [new Row($"pretrained, {setting} trigger", outcome.TriggerSpec, before, 0), new Row($"backdoored ({setting})", outcome.TriggerSpec, outcome.Test, outcome.Training.Seconds)];
    }

    static int RunUnlearning(int seeds, string outDir, TextWriter stdout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var runs = new List<Tbar.Pipelines.DemoResult>();
        for (int seed = 0; seed < seeds; seed++)
        {
            var options = new Tbar.Pipelines.DemoOptions(Defaults.MiniClip, Seed: seed);
            var result = ProgressBar.Run(stdout, $"seed {seed}", p => Tbar.Pipelines.DemoPipeline.Run(options, null, p));
            Tbar.Reporting.DemoReport.Write(Path.Combine(outDir, $"seed-{seed}"), result, options, Environment.CommandLine, clock.Elapsed.TotalSeconds);
            runs.Add(result);
        }
        string table = Tbar.Reporting.SeedTable.Markdown(runs);
        AtomicFile.WriteText(Path.Combine(outDir, "table.md"), table);
        new RunRecord(Environment.CommandLine, new { seeds }, 0, Tbar.Reporting.SeedTable.Summary(runs), clock.Elapsed.TotalSeconds)
            .Save(Path.Combine(outDir, "results.json"));
        stdout.WriteLine(table);
        return 0;
    }

    static string Markdown(List<Row> rows, string target, double rate)
    {
        var sb = new StringBuilder($"Target '{target}', poison rate {rate:P0} of half B (30,000 images), test split 10,000 images.\n\n");
        sb.Append("| setting | trigger | CA | ASR | BD-ACC | train s |\n|---|---|---|---|---|---|\n");
        foreach (var r in rows)
            sb.Append($"| {r.Setting} | `{r.Trigger}` | {r.Metrics.CleanAccuracy.Value:P2} | {Fmt(r.Metrics.AttackSuccess)} | {Fmt(r.Metrics.BackdoorAccuracy)} | {r.Seconds:F0} |\n");
        return sb.ToString();
    }

    static string Fmt(Rate? r) => r == null ? "-" : r.Value.ToString("P2");
}
