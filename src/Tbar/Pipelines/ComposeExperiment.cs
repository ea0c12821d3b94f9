using System.Diagnostics;
using System.Text.Json;
using Tbar.Attacks;
using Tbar.Data;
using Tbar.Evaluation;
using Tbar.Io;
using Tbar.Models;
using Tbar.Unlearning;

namespace Tbar.Pipelines;

/// <summary>A backdoor to plant: trigger spec and target class.</summary>
public sealed record BackdoorSpec(string Trigger, string Target);

/// <summary>Settings of the two-backdoor experiment.</summary>
/// <param name="Model">Clean model to backdoor.</param>
/// <param name="Backdoors">(trigger spec, target class) of each backdoor, planted together.</param>
/// <param name="Seeds">Seeds; each is one backdoored model.</param>
/// <param name="Variants">τ estimators by name (<see cref="ArithmeticVariants"/>).</param>
/// <param name="Out">Output folder: one sub-folder per seed, one JSON per variant; finished ones are skipped.</param>
/// <param name="Rule">The α rule; for a joint α, ASR is the worse of the backdoors' validation ASRs.</param>
/// <param name="PoisonRate">Poisoned share of the training set, per backdoor.</param>
/// <param name="ForgetSize">Forget-set size of each backdoor.</param>
/// <param name="ValSize">Validation size.</param>
/// <param name="Data">Data spec.</param>
/// <param name="CollectOnly">Only gather the variants already finished in <paramref name="Out"/>; compute nothing (and load no data).</param>
public sealed record ComposeOptions(string Model, IReadOnlyList<BackdoorSpec> Backdoors, long[] Seeds, string[] Variants,
    string Out, AlphaRule Rule, double PoisonRate = Defaults.PoisonRate, int ForgetSize = Defaults.ForgetSize,
        int ValSize = Defaults.ValSize, string Data = Defaults.Data,
    bool CollectOnly = false);

/// <summary>Test metrics after one way of removing both backdoors.</summary>
/// <param name="Strategy">"joint" (θ_b − α(τ₁ + τ₂), one α), "separate" (α_k chosen for each τ_k alone at θ_b, then both applied)
/// or "sequential" (clean backdoor 1, then estimate τ₂ at the cleaned model and clean backdoor 2).</param>
/// <param name="Alphas">The α of each backdoor (equal for joint).</param>
/// <param name="Feasible">Whether every α choice met the rule.</param>
/// <param name="Ca">Test CA.</param>
/// <param name="Asr">Test ASR of each backdoor.</param>
/// <param name="TargetCa">Test CA of each backdoor's target class.</param>
/// <param name="OthersCa">Test CA of the classes that are no backdoor's target.</param>
/// <param name="Retention">CA over the backdoored model's.</param>
/// <param name="PerClass">Test CA per class.</param>
/// <param name="Seconds">Time of the estimation and α choices.</param>
/// <param name="Curves">The α curves of each choice made.</param>
public sealed record ComposeRow(string Strategy, double[] Alphas, bool Feasible, double Ca, double[] Asr, double[] TargetCa, double OthersCa,
    double Retention, IReadOnlyList<Rate> PerClass, double Seconds, IReadOnlyList<IReadOnlyList<AlphaPoint>> Curves);

/// <summary>One variant on one two-backdoor model: the backdoored model's test metrics and each strategy's.</summary>
public sealed record ComposeResult(long Seed, string Variant, string Estimator, ComposeRow Backdoored, IReadOnlyList<ComposeRow> Strategies);

/// <summary>
/// Two backdoors in one model, removed by task arithmetic: one trigger vector per backdoor, negated together with one α
/// (the composition task arithmetic promises), each with its own α chosen alone, or one after the other.
/// </summary>
public static class ComposeExperiment
{
    public static List<ComposeResult> Run(ComposeOptions o, Action<string>? status = null, IProgress<TrainProgress>? progress = null)
    {
        status ??= _ => { };
        foreach (var v in o.Variants) ArithmeticVariants.Get(v);
        if (o.CollectOnly) return [.. o.Seeds.SelectMany(seed => Finished(o, seed))];
        var results = new List<ComposeResult>();
        using var data = DataSpec.Load(o.Data, ClipCheckpoint.ReadConfig(o.Model).Vision.ImageSize);
        foreach (var seed in o.Seeds) results.AddRange(Cell(o, data, seed, status, progress));
        return results;
    }

    /// <summary>Folder of one seed (a cell): the two-backdoor model and one JSON per variant.</summary>
    public static string CellDir(string outDir, long seed) => Path.Combine(outDir, $"seed{seed}");

    /// <summary>The variants of <paramref name="seed"/> already finished under Out, in the options' order.</summary>
    static List<ComposeResult> Finished(ComposeOptions o, long seed) =>
        [.. o.Variants.Select(v => VariantFile(CellDir(o.Out, seed), v)).Where(File.Exists).Select(Load)];

    static IEnumerable<ComposeResult> Cell(ComposeOptions o, DataSplits data, long seed, Action<string> status, IProgress<TrainProgress>? progress)
    {
        string dir = CellDir(o.Out, seed);
        var todo = o.Variants.Where(v => !File.Exists(VariantFile(dir, v))).ToList();
        var done = Finished(o, seed);
        if (todo.Count == 0) return done;
        var triggers = o.Backdoors.Select(b => Triggers.Parse(b.Trigger)).ToArray();
        var targets = o.Backdoors.Select(b => data.Train.ClassIndex(b.Target)).ToArray();
        string modelDir = Path.Combine(dir, "model");
        using var model = Backdoored(o, data, triggers, targets, seed, modelDir, s => status($"seed {seed}: {s}"), progress);
        var poisoned = File.ReadAllLines(Path.Combine(modelDir, "poisoned.txt")).Select(long.Parse).ToHashSet();
        var tokenizer = Tokenizers.For(model, null);
        using var head = ZeroShotHead.ForClasses(model, tokenizer, data.Test.ClassNames);
        var tasks = Tasks(o, data, triggers, targets, poisoned, seed);
        var backdoored = Test(model, head, data, triggers, targets, null, "backdoored", [0, 0], true, 0, []);
        var start = VisualWeights.Snapshot(model);
        foreach (var name in todo)
        {
            status($"seed {seed}: {name}");
            var v = ArithmeticVariants.Get(name);
            var rows = new List<ComposeRow>();
            foreach (var strategy in new[] { "joint", "separate", "sequential" })
            {
                VisualWeights.Restore(model, start);
                var clock = Stopwatch.StartNew();
                var (alphas, feasible, curves) = strategy switch
                {
                    "joint" => Joint(model, head, tasks, v.Tau, o.Rule),
                    "separate" => Separate(model, head, tasks, v.Tau, o.Rule),
                    _ => Sequential(model, head, tasks, v.Tau, o.Rule),
                };
                rows.Add(Test(model, head, data, triggers, targets, backdoored, strategy, alphas, feasible, clock.Elapsed.TotalSeconds, curves));
            }
            var result = new ComposeResult(seed, name, v.Tau.Describe(), backdoored, rows);
            AtomicFile.WriteText(VariantFile(dir, name), JsonSerializer.Serialize(result, RunRecord.Json) + "\n");
            done.Add(result);
        }
        VisualWeights.Restore(model, start);
        VisualWeights.Dispose([start]);
        return done;
    }

    /// <summary>One task per backdoor from the clean pool; a later task's forget and validation images avoid earlier forget sets.</summary>
    static UnlearnTask[] Tasks(ComposeOptions o, DataSplits data, ITrigger[] triggers, int[] targets, HashSet<long> poisoned, long seed)
    {
        var pool = data.TrainIndices.Where(i => !poisoned.Contains(i)).ToArray();
        var tasks = new UnlearnTask[triggers.Length];
        for (int k = 0; k < triggers.Length; k++)
        {
            tasks[k] = UnlearnTask.FromPool(data.Train, pool, triggers[k], targets[k], o.ForgetSize, o.ValSize, seed);
            var forget = tasks[k].Forget.Indices.ToHashSet();
            pool = pool.Where(i => !forget.Contains(i)).ToArray();
        }
        return tasks;
    }

    /// <summary>Validation point with the first task's clean CA and the worst of the tasks' ASRs.</summary>
    static AlphaPoint JointPoint(Clip model, ZeroShotHead head, UnlearnTask[] tasks, double alpha)
    {
        var points = tasks.Select(t => t.Point(model, head, alpha)).ToList();
        return points[0] with { AttackSuccess = points.MaxBy(p => p.AttackSuccess.Value)!.AttackSuccess, TargetClass = null };
    }

    /// <summary>Validation look with the first task's clean CA and the worst of the tasks' ASRs (the screened search's).</summary>
    static AlphaLook JointLook(Clip model, ZeroShotHead head, UnlearnTask[] tasks, double alpha, int size)
    {
        var looks = tasks.Select(t => t.Look(model, head, alpha, size)).ToList();
        return looks[0] with { AttackSuccess = looks.MaxBy(l => l.AttackSuccess.Value)!.AttackSuccess };
    }

    static (double[], bool, List<IReadOnlyList<AlphaPoint>>) Joint(Clip model, ZeroShotHead head, UnlearnTask[] tasks, ITauEstimator tau,
        AlphaRule rule)
    {
        var vectors = tasks.Select(t => tau.Estimate(model, head, t)).ToArray();
        var choice = Negation.Choose(model, vectors, a => vectors.Select(_ => -a).ToArray(), a => JointPoint(model, head, tasks, a),
            a => JointLook(model, head, tasks, a, rule.LookSize), rule);
        Negation.Apply(model, vectors, vectors.Select(_ => -choice.Alpha).ToArray());
        foreach (var v in vectors) v.Dispose();
        return (vectors.Select(_ => choice.Alpha).ToArray(), choice.Feasible, [choice.Curve]);
    }

    static (double[], bool, List<IReadOnlyList<AlphaPoint>>) Separate(Clip model, ZeroShotHead head, UnlearnTask[] tasks, ITauEstimator tau,
        AlphaRule rule)
    {
        var vectors = tasks.Select(t => tau.Estimate(model, head, t)).ToArray();
        double[] Only(int k, double a) => vectors.Select((_, i) => i == k ? -a : 0).ToArray();
        var choices = tasks.Select((t, k) => Negation.Choose(model, vectors, a => Only(k, a), a => t.Point(model, head, a),
            a => t.Look(model, head, a, rule.LookSize), rule)).ToArray();
        Negation.Apply(model, vectors, choices.Select(c => -c.Alpha).ToArray());
        foreach (var v in vectors) v.Dispose();
        return (choices.Select(c => c.Alpha).ToArray(), choices.All(c => c.Feasible), choices.Select(c => c.Curve).ToList());
    }

    static (double[], bool, List<IReadOnlyList<AlphaPoint>>) Sequential(Clip model, ZeroShotHead head, UnlearnTask[] tasks, ITauEstimator tau,
        AlphaRule rule)
    {
        var results = tasks.Select(t => TbarMethod.Run(model, head, t, tau, rule)).ToList();
        foreach (var r in results) r.Tau?.Dispose();
        return (results.Select(r => r.Alpha!.Alpha).ToArray(), results.All(r => r.Alpha!.Feasible), results.Select(r => r.Alpha!.Curve).ToList());
    }

    static ComposeRow Test(Clip model, ZeroShotHead head, DataSplits data, ITrigger[] triggers, int[] targets, ComposeRow? backdoored,
        string strategy, double[] alphas, bool feasible, double seconds, IReadOnlyList<IReadOnlyList<AlphaPoint>> curves)
    {
        var all = data.Test.AllIndices();
        var clean = Metrics.Predict(model, head, data.Test, all);
        var scored = Metrics.Score(data.Test.Labels, all, clean, -1, null);
        var asr = triggers.Select((t, k) => Metrics.AttackSuccess(model, head, data.Test, all, t, targets[k]).Value).ToArray();
        var perClass = scored.PerClass!;
        var others = perClass.Where((_, c) => !targets.Contains(c)).ToList();
        double othersCa = (double)others.Sum(r => r.Hits) / others.Sum(r => r.Total);
        double ca = scored.CleanAccuracy.Value;
        return new ComposeRow(strategy, alphas, feasible, ca, asr, targets.Select(t => perClass[t].Value).ToArray(), othersCa,
            backdoored == null ? 1 : ca / backdoored.Ca, perClass, seconds, curves);
    }

    /// <summary>The seed's two-backdoor model (<see cref="SavedBackdoor"/>), with every poisoned index in poisoned.txt beside its weights.</summary>
    static Clip Backdoored(ComposeOptions o, DataSplits data, ITrigger[] triggers, int[] targets, long seed, string modelDir,
        Action<string> status, IProgress<TrainProgress>? progress) => SavedBackdoor.LoadOrPlant(modelDir, o.Model, model =>
    {
        status("backdoor attack (two triggers)");
        var options = new AttackOptions("", "", o.PoisonRate, AttackMode.Supervised, BackdoorAttack.DefaultTrain(AttackMode.Supervised), seed);
        var (plans, training) = BackdoorAttack.RunMany(model, Tokenizers.For(model, null), data.Train, data.TrainIndices,
            triggers.Zip(targets).ToList(), options, progress);
        return stage =>
        {
            AtomicFile.WriteText(Path.Combine(stage, "poisoned.txt"), string.Join("\n", plans.SelectMany(p => p.Indices)) + "\n");
            AtomicFile.WriteText(Path.Combine(stage, "training.json"), JsonSerializer.Serialize(training, RunRecord.Json));
        };
    });

    static string VariantFile(string dir, string variant) => Path.Combine(dir, variant.Replace(':', '_').Replace(',', '_') + ".json");

    static ComposeResult Load(string path) =>
        JsonSerializer.Deserialize<ComposeResult>(File.ReadAllText(path), RunRecord.Json) ?? throw new TbarException($"{path}: empty result");
}
