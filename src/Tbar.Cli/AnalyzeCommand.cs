using System.CommandLine;
using System.Text;
using System.Text.Json;
using Spectre.Console;
using Tbar.Analysis;
using Tbar.Arithmetic;
using Tbar.Attacks;
using Tbar.Data;
using Tbar.Io;
using Tbar.Models;
using Tbar.Pipelines;
using Tbar.Reporting;
using Tbar.Unlearning;

namespace Tbar.Cli;

/// <summary>
/// <c>tbar analyze disentangle|vectors|forget-size|transfer</c>: weight-space diagnostics. Each writes JSON, a PNG and a
/// <c>section.md</c> that <c>tbar report</c> gathers.
/// </summary>
static class AnalyzeCommand
{
    /// <summary>What a `tbar unlearn` output folder holds: the backdoored model it started from, τ, α*, trigger and target.</summary>
    sealed record Unlearned(string Backdoored, string TauPath, double Alpha, string TriggerSpec, string Target)
    {
        public static Unlearned Read(string dir)
        {
            string report = Path.Combine(dir, "report.json"), tau = Path.Combine(dir, "tau.safetensors");
            if (!File.Exists(report) || !File.Exists(tau)) throw new TbarException($"{dir}: not a `tbar unlearn` output (needs report.json and tau.safetensors)");
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(report));
                var options = doc.RootElement.GetProperty("options");
                string forget = options.GetProperty("forget").GetString()!;
                if (!forget.StartsWith("trigger:")) throw new TbarException($"{report}: the analysis needs a run with --forget trigger:SPEC (got {forget})");
                var alpha = doc.RootElement.GetProperty("results").GetProperty("alpha");
                return new Unlearned(options.GetProperty("model").GetString()!, tau, alpha.ValueKind == JsonValueKind.Number ? alpha.GetDouble() : 0,
                    forget["trigger:".Length..], options.GetProperty("target").GetString()!);
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new TbarException($"{report}: unexpected report ({e.Message})");
            }
        }
    }

    public static Command Create(TextWriter stdout)
    {
        var command = new Command("analyze", "Weight-space diagnostics: is the backdoor a separate direction?");
        command.Subcommands.Add(Disentangle(stdout));
        command.Subcommands.Add(Vectors(stdout));
        command.Subcommands.Add(ForgetSize(stdout));
        command.Subcommands.Add(Transfer(stdout));
        return command;
    }

    static Option<string> UnlearnedOption() => new("--unlearned") { Description = "Output folder of `tbar unlearn --forget trigger:SPEC` (model, τ, α*, trigger, target)", Required = true };
    static Option<string> PretrainedOption() => new("--pretrained") { Description = "θ_pre, the model before the backdoor", DefaultValueFactory = _ => Defaults.MiniClip };
    static Option<string> DataOption() => new("--data") { Description = "Data spec", DefaultValueFactory = _ => "fashion-mnist" };
    static Option<string> OutOption() => new("--out") { Description = "Output folder", Required = true };

    /// <summary>An unlearn run's models and vectors: θ_pre, θ_b, τ_t and τ_c = θ_b − θ_pre − α*·τ_t over τ_t's parameters.</summary>
    sealed class RunVectors(Unlearned run, Clip pretrained, Clip backdoored, TaskVector trigger) : IDisposable
    {
        public Unlearned Run => run;
        public Clip Pretrained => pretrained;
        public TaskVector Trigger => trigger;
        public TaskVector Clean { get; } = Difference(backdoored, pretrained, trigger, run.Alpha);

        public static RunVectors Load(string unlearnedDir, string pretrainedPath)
        {
            var run = Unlearned.Read(unlearnedDir);
            return new RunVectors(run, ClipCheckpoint.Load(pretrainedPath), ClipCheckpoint.Load(run.Backdoored), TaskVector.Load(run.TauPath));
        }

        /// <summary>θ_b − θ_pre over τ_t's parameters: the whole backdoor fine-tune.</summary>
        public TaskVector WholeFineTune() => Difference(backdoored, pretrained, trigger, 0);

        static TaskVector Difference(Clip backdoored, Clip pretrained, TaskVector trigger, double alphaStar)
        {
            var b = backdoored.Parameters();
            var p = pretrained.Parameters();
            var keys = trigger.Keys.ToList();
            using var difference = TaskVector.Between(p.ToDictionary(x => x.Key, x => (TorchSharp.torch.Tensor)x.Value),
                b.ToDictionary(x => x.Key, x => (TorchSharp.torch.Tensor)x.Value), keys);
            using var scaled = trigger * alphaStar;
            return difference - scaled;
        }

        public void Dispose()
        {
            Clean.Dispose();
            trigger.Dispose();
            backdoored.Dispose();
            pretrained.Dispose();
        }
    }

    static Command Disentangle(TextWriter stdout)
    {
        var unlearned = UnlearnedOption();
        var pretrained = PretrainedOption();
        var data = DataOption();
        var grid = new Option<int>("--grid") { Description = "Points per axis", DefaultValueFactory = _ => 9 };
        var range = new Option<double>("--range") { Description = "Each α runs over [−range, range]", DefaultValueFactory = _ => 2 };
        var images = new Option<int>("--images") { Description = "Clean and triggered test images each", DefaultValueFactory = _ => 500 };
        var output = OutOption();
        var command = new Command("disentangle", "Disentanglement error ξ(α_c, α_t) over a grid; heatmap + JSON.") { unlearned, pretrained, data, grid, range, images, output };
        command.SetAction(r =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using var vectors = RunVectors.Load(r.GetValue(unlearned)!, r.GetValue(pretrained)!);
            var (run, pre) = (vectors.Run, vectors.Pretrained);
            using var splits = DataSpec.Load(r.GetValue(data)!, pre.Config.Vision.ImageSize);
            int target = splits.Test.ClassIndex(run.Target), n = r.GetValue(images);
            if (n < 1) throw new TbarException("--images must be ≥ 1");
            var all = splits.Test.AllIndices();
            var cleanIdx = Splits.Take(all, 11, Math.Min(n, all.Length))[0];
            var victims = Tbar.Evaluation.Metrics.Victims(splits.Test.Labels, all, target);
            var trigIdx = Splits.Take(victims, 12, Math.Min(n, victims.Length))[0];
            using var head = ZeroShotHead.ForClasses(pre, Tokenizers.For(pre, null), splits.Test.ClassNames);
            var axis = Disentanglement.Axis(r.GetValue(range), r.GetValue(grid));
            var result = ProgressBar.Run(stdout, "ξ grid", p => Disentanglement.Compute(pre, vectors.Clean, vectors.Trigger, head, splits.Test, cleanIdx, trigIdx,
                Triggers.Parse(run.TriggerSpec), axis, axis, p));
            string dir = r.GetValue(output)!;
            Directory.CreateDirectory(dir);
            Plots.XiHeatmap(Path.Combine(dir, "xi.png"), result, "disentanglement error ξ(α_c, α_t)");
            new RunRecord(Environment.CommandLine, new { unlearned = r.GetValue(unlearned), alpha_star = run.Alpha, run.TriggerSpec, run.Target, images = n },
                0, result, clock.Elapsed.TotalSeconds).Save(Path.Combine(dir, "xi.json"));
            var unit = result.Points.Where(q => q.AlphaClean is >= 0 and <= 1 && q.AlphaTrigger is >= 0 and <= 1).ToList();
            string md = $"## Disentanglement error\n\nξ(α_c, α_t) for θ_pre + α_c·τ_c + α_t·τ_t, with τ_c = θ_b − θ_pre − α*·τ_t (α* = {run.Alpha:G3}), " +
                $"on {n} clean and {trigIdx.Length} triggered test images (`tbar analyze disentangle`). " +
                $"Mean ξ over the grid: {result.Points.Average(q => q.Xi):F3}; over α_c, α_t ∈ [0, 1]: {unit.DefaultIfEmpty().Average(q => q?.Xi ?? 0):F3}; " +
                $"largest: {result.Points.Max(q => q.Xi):F3}.\n\n![ξ](xi.png)\n";
            AtomicFile.WriteText(Path.Combine(dir, "section.md"), md);
            stdout.WriteLine($"mean ξ {result.Points.Average(q => q.Xi):F3} over {result.Points.Count} points in {result.Seconds:F0} s; wrote {dir}");
            return 0;
        });
        return command;
    }

    static Command Vectors(TextWriter stdout)
    {
        var unlearned = UnlearnedOption();
        var pretrained = PretrainedOption();
        var output = OutOption();
        var command = new Command("vectors", "Per-block norms of τ_t and τ_c, their cosine, and τ_t's energy per block.") { unlearned, pretrained, output };
        command.SetAction(r =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using var vectors = RunVectors.Load(r.GetValue(unlearned)!, r.GetValue(pretrained)!);
            var run = vectors.Run;
            var stats = VectorStats.Compute(vectors.Trigger, vectors.Clean);
            using var whole = vectors.WholeFineTune();
            double wholeCosine = VectorStats.Compute(vectors.Trigger, whole).Cosine;
            string dir = r.GetValue(output)!;
            Directory.CreateDirectory(dir);
            Plots.VectorBlocks(Path.Combine(dir, "vectors.png"), stats, "τ_t against τ_c per block");
            new RunRecord(Environment.CommandLine, new { unlearned = r.GetValue(unlearned), alpha_star = run.Alpha }, 0,
                new { stats, cosine_with_whole_fine_tune = wholeCosine }, clock.Elapsed.TotalSeconds)
                .Save(Path.Combine(dir, "vectors.json"));
            var sb = new StringBuilder($"## Trigger and clean vectors\n\n‖τ_t‖ = {stats.TriggerNorm:G4}, ‖τ_c‖ = {stats.CleanNorm:G4}, " +
                $"cos(τ_t, τ_c) = {stats.Cosine:F4} over the image tower, with τ_c = θ_b − θ_pre − α*·τ_t (α* = {run.Alpha:G3}); " +
                $"cos(τ_t, θ_b − θ_pre) = {wholeCosine:F4} (`tbar analyze vectors`).\n\n" +
                "| block | parameters | ‖τ_t‖ | ‖τ_c‖ | cos | share of ‖τ_t‖² |\n|---|---|---|---|---|---|\n");
            foreach (var b in stats.Blocks)
                sb.Append($"| {b.Block} | {b.Parameters:N0} | {b.TriggerNorm:G4} | {b.CleanNorm:G4} | {b.Cosine:F4} | {b.TriggerEnergyShare:P1} |\n");
            sb.Append("\n![vectors](vectors.png)\n");
            AtomicFile.WriteText(Path.Combine(dir, "section.md"), sb.ToString());
            var table = new Table().AddColumns("block", "‖τ_t‖", "‖τ_c‖", "cos", "τ_t energy");
            foreach (var b in stats.Blocks) table.AddRow(b.Block, $"{b.TriggerNorm:G4}", $"{b.CleanNorm:G4}", $"{b.Cosine:F4}", $"{b.TriggerEnergyShare:P1}");
            Output.Console(stdout).Write(table);
            stdout.WriteLine($"cos(τ_t, τ_c) = {stats.Cosine:F4}; wrote {dir}");
            return 0;
        });
        return command;
    }

    static Command ForgetSize(TextWriter stdout)
    {
        var unlearned = UnlearnedOption();
        var data = DataOption();
        var sizes = new Option<int[]>("--sizes") { Description = "Forget-set sizes", DefaultValueFactory = _ => [100, 250, 500, 1000, 2000, 4000], AllowMultipleArgumentsPerToken = true };
        var method = new Option<string>("--rule") { Description = "tbar (90% CA floor) or tbar-floor75", DefaultValueFactory = _ => "tbar-floor75" };
        var seed = new Option<long>("--seed") { Description = "Seed", DefaultValueFactory = _ => 0 };
        var output = OutOption();
        var command = new Command("forget-size", "TBAR with forget sets of several sizes: test CA/ASR/seconds.") { unlearned, data, sizes, method, seed, output };
        command.SetAction(r =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var run = Unlearned.Read(r.GetValue(unlearned)!);
            var options = r.GetValue(method) switch
            {
                "tbar" => TbarOptions.Default,
                "tbar-floor75" => TbarOptions.Floor75,
                var other => throw new TbarException($"--rule '{other}': expected tbar or tbar-floor75"),
            };
            var list = r.GetValue(sizes)!;
            if (list.Length == 0 || list.Any(s => s < 1)) throw new TbarException("--sizes must be positive");
            using var bd = ClipCheckpoint.Load(run.Backdoored);
            using var splits = DataSpec.Load(r.GetValue(data)!, bd.Config.Vision.ImageSize);
            using var head = ZeroShotHead.ForClasses(bd, Tokenizers.For(bd, null), splits.Train.ClassNames);
            var trigger = Triggers.Parse(run.TriggerSpec);
            var console = Output.Console(stdout);
            var points = Ablations.ForgetSizes(bd, head, splits, splits.TrainIndices, trigger, splits.Train.ClassIndex(run.Target), list, 2000, options,
                r.GetValue(seed), s => console.MarkupLine($"[grey]{Markup.Escape(s)}[/]"));
            string dir = r.GetValue(output)!;
            Directory.CreateDirectory(dir);
            Plots.ForgetSizes(Path.Combine(dir, "forget-size.png"), points, $"TBAR ({r.GetValue(method)}) against forget-set size");
            new RunRecord(Environment.CommandLine, new { unlearned = r.GetValue(unlearned), sizes = list, rule = r.GetValue(method) }, r.GetValue(seed),
                points.Select(p => new { size = p.Size, alpha = p.Alpha, feasible = p.Feasible, ca = p.Test.CleanAccuracy.Value, asr = p.Test.AttackSuccess?.Value, seconds = p.Seconds }),
                clock.Elapsed.TotalSeconds).Save(Path.Combine(dir, "forget-size.json"));
            var sb = new StringBuilder($"## Forget-set size\n\nTBAR (`{r.GetValue(method)}` α rule) on `{run.Backdoored}`, trigger `{run.TriggerSpec}` " +
                "(`tbar analyze forget-size`). Test split.\n\n| forget images | α | rule met | CA | ASR | seconds |\n|---|---|---|---|---|---|\n");
            foreach (var p in points)
                sb.Append($"| {p.Size} | {p.Alpha:G3} | {(p.Feasible ? "yes" : "no")} | {p.Test.CleanAccuracy.Value:P2} | {p.Test.AttackSuccess?.Value:P2} | {p.Seconds:F1} |\n");
            sb.Append("\n![forget size](forget-size.png)\n");
            AtomicFile.WriteText(Path.Combine(dir, "section.md"), sb.ToString());
            stdout.Write(sb.ToString());
            return 0;
        });
        return command;
    }

    static Command Transfer(TextWriter stdout)
    {
        var pretrained = PretrainedOption();
        var trigger = new Option<string>("--trigger") { Description = "Trigger spec", DefaultValueFactory = _ => "badnet:size=3" };
        var target = new Option<string>("--target") { Description = "Target class (in both subsets)", DefaultValueFactory = _ => "Bag" };
        var classesA = new Option<string[]>("--classes-a") { Description = "Classes of dataset A", DefaultValueFactory = _ => ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Bag"], AllowMultipleArgumentsPerToken = true };
        var classesB = new Option<string[]>("--classes-b") { Description = "Classes of dataset B", DefaultValueFactory = _ => ["Sandal", "Shirt", "Sneaker", "Ankle boot", "Bag"], AllowMultipleArgumentsPerToken = true };
        var seed = new Option<long>("--seed") { Description = "Seed", DefaultValueFactory = _ => 0 };
        var output = OutOption();
        var command = new Command("transfer", "Apply a trigger vector estimated on one class subset to a model backdoored on another.")
            { pretrained, trigger, target, classesA, classesB, seed, output };
        command.SetAction(r =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using var probe = ClipCheckpoint.Load(r.GetValue(pretrained)!);
            using var full = DataSpec.Load("fashion-mnist", probe.Config.Vision.ImageSize);
            string[] a = r.GetValue(classesA)!.Select(c => full.Train.ClassNames[full.Train.ClassIndex(c)]).ToArray();
            string[] b = r.GetValue(classesB)!.Select(c => full.Train.ClassNames[full.Train.ClassIndex(c)]).ToArray();
            string targetName = full.Train.ClassNames[full.Train.ClassIndex(r.GetValue(target)!)];
            var console = Output.Console(stdout);
            var result = ProgressBar.Run(stdout, "transfer", p => Ablations.Transfer(r.GetValue(pretrained)!, full, a, b, r.GetValue(trigger)!, targetName,
                2000, 2000, TbarOptions.Floor75, r.GetValue(seed),
                s => console.MarkupLine($"[grey]{Markup.Escape(s)}[/]"), p));
            string dir = r.GetValue(output)!;
            Directory.CreateDirectory(dir);
            Plots.MethodBars(Path.Combine(dir, "transfer.png"), result.Rows.Select(x => (x.Model, x.Test.CleanAccuracy.Value, x.Test.AttackSuccess?.Value ?? 0)).ToList(), "dataset B test split");
            new RunRecord(Environment.CommandLine, new { trigger = r.GetValue(trigger), target = targetName, classes_a = a, classes_b = b }, r.GetValue(seed),
                new { vector_cosine = result.VectorCosine, rows = result.Rows.Select(x => new { model = x.Model, alpha = x.Alpha, ca = x.Test.CleanAccuracy.Value, asr = x.Test.AttackSuccess?.Value, note = x.Note }) },
                clock.Elapsed.TotalSeconds).Save(Path.Combine(dir, "transfer.json"));
            var sb = new StringBuilder($"## Transfer across datasets\n\nA = {string.Join(", ", a)}; B = {string.Join(", ", b)}; trigger `{r.GetValue(trigger)}`, " +
                $"target {targetName} (`tbar analyze transfer`). cos(τ_A, τ_B) = {result.VectorCosine:F3}. Test split of B.\n\n| model | α | CA | ASR | note |\n|---|---|---|---|---|\n");
            foreach (var x in result.Rows)
                sb.Append($"| {x.Model} | {(x.Alpha is double al ? al.ToString("G3") : "-")} | {x.Test.CleanAccuracy.Value:P2} | {x.Test.AttackSuccess?.Value:P2} | {x.Note} |\n");
            sb.Append("\n![transfer](transfer.png)\n");
            AtomicFile.WriteText(Path.Combine(dir, "section.md"), sb.ToString());
            stdout.Write(sb.ToString());
            return 0;
        });
        return command;
    }
}
