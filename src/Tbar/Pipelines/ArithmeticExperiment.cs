using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Tbar.Attacks;
using Tbar.Data;
using Tbar.Evaluation;
using Tbar.Io;
using Tbar.Models;
using Tbar.Training;
using Tbar.Unlearning;

namespace Tbar.Pipelines;

/// <summary>One way of estimating τ and negating it, by the name the experiment table uses.</summary>
/// <param name="Name">Table name, e.g. "emb-10".</param>
/// <param name="Tau">The estimator (<see cref="TauEstimators"/>).</param>
/// <param name="BiasRefit">Diagnostic: a per-class logit bias is re-fitted on the clean budget at every α.</param>
/// <param name="Rounds">
/// Negations in sequence: each earlier round estimates τ at the current model and negates it by the α that lowers validation ASR
/// most while validation CA stays ≥ <paramref name="RoundFloor"/> of the backdoored model's; the last round uses the rule. After a
/// partial negation the forget loss is no longer saturated, so the next τ is estimated where the backdoor still has work to do.
/// </param>
/// <param name="RoundFloor">CA floor of the earlier rounds, as a share of the backdoored model's validation CA.</param>
public sealed record ArithmeticVariant(string Name, ITauEstimator Tau, bool BiasRefit = false, int Rounds = 1, double RoundFloor = 0.95);

/// <summary>
/// The variants compared by <c>tbar experiment arithmetic</c>: every τ estimator of <see cref="TauEstimators"/> by its name,
/// the negation procedures below (class-bias re-fit, rounds) on top of some of them, and "tau:…" specs.
/// </summary>
public static class ArithmeticVariants
{
    static TrainOptions Recipe => TbarOptions.Default.Recipe;

    /// <summary>Variants that change how τ is negated, over a named estimator.</summary>
    static readonly Dictionary<string, (string Estimator, bool Bias, int Rounds)> Procedures = new(StringComparer.Ordinal)
    {
        ["plain+bias"] = ("plain", true, 1),
        ["iter-plain"] = ("plain", false, 2),
        ["iter3-plain"] = ("plain", false, 3),
        ["iter-emb-3"] = ("emb-3", false, 2),
        ["iter-emb-10"] = ("emb-10", false, 2),
        ["emb-3+bias"] = ("emb-3", true, 1),
    };

    /// <summary>Valid names, in table order.</summary>
    public static IReadOnlyCollection<string> Names => [.. TauEstimators.Names, .. Procedures.Keys];

    /// <summary>
    /// The variant by name, or by a spec "tau:…" (<see cref="TauEstimators.Spec"/>) with also "bias=0|1,rounds=R"; an unknown
    /// name lists the valid ones.
    /// </summary>
    public static ArithmeticVariant Get(string name)
    {
        if (Procedures.TryGetValue(name, out var p)) return new(name, TauEstimators.Get(p.Estimator, Recipe), p.Bias, p.Rounds);
        if (!name.StartsWith("tau:"))
        {
            if (!TauEstimators.Names.Contains(name))
                throw new TbarException($"unknown τ variant '{name}' (valid: {string.Join(", ", Names)}, or a tau:… spec)");
            return new(name, TauEstimators.Get(name, Recipe));
        }
        var spec = TriggerSpec.Parse(name);
        var tau = TauEstimators.Spec(spec, Recipe);
        bool bias = spec.Int("bias", 0, 0, 1) == 1;
        int rounds = spec.Int("rounds", 1, 1, 10);
        spec.RejectUnknown();
        return new ArithmeticVariant(name, tau, bias, rounds);
    }
}

/// <summary>Settings of the arithmetic experiment.</summary>
/// <param name="Model">Clean model to backdoor.</param>
/// <param name="Attacks">Trigger specs.</param>
/// <param name="Seeds">Seeds; each (trigger, seed) is one backdoored model.</param>
/// <param name="Variants">τ estimators by name.</param>
/// <param name="Out">Output folder: one sub-folder per (trigger, seed) cell, one JSON per variant; finished cells are skipped.</param>
/// <param name="Rule">The α rule, the same for every variant (a 75% floor so that every variant can reach the ASR target).</param>
/// <param name="Target">Target class of every attack.</param>
/// <param name="PoisonRate">Poisoned share of the attack's training set.</param>
/// <param name="ForgetSize">Forget-set size (also the clean budget).</param>
/// <param name="ValSize">Validation size.</param>
/// <param name="CollectOnly">Only gather the variants already finished in <paramref name="Out"/>; compute nothing (and load no data).</param>
/// <param name="Data">Data spec (Fashion-MNIST by default; a smaller copy for tests).</param>
public sealed record ArithmeticOptions(string Model, string[] Attacks, long[] Seeds, string[] Variants, string Out, AlphaRule Rule,
    string Target = "Bag", double PoisonRate = Defaults.PoisonRate, int ForgetSize = Defaults.ForgetSize, int ValSize = Defaults.ValSize,
        bool CollectOnly = false,
    string Data = Defaults.Data);

/// <summary>Test metrics of one model in one cell, per class.</summary>
public sealed record ClassSplit(double Ca, double? Asr, double TargetCa, double OthersCa, IReadOnlyList<Rate> PerClass, Rate CleanAccuracy,
    Rate? AttackSuccess)
{
    public static ClassSplit Of(AttackMetrics m, int target) => new(m.CleanAccuracy.Value, m.AttackSuccess?.Value, m.TargetClass(target)!.Value,
        m.OtherClasses(target)!.Value, m.PerClass!, m.CleanAccuracy, m.AttackSuccess);
}

/// <summary>One variant on one backdoored model.</summary>
public sealed record VariantResult(string Attack, long Seed, string Variant, string Estimator, double Alpha, bool Feasible, string Choice,
    ClassSplit Test, ClassSplit Backdoored, double Retention, double OthersRetention, double? RelapseAsr, double TauNorm, double Seconds,
    IReadOnlyList<AlphaPoint> Curve, double? TargetVectorCosine = null, IReadOnlyList<double>? RoundAlphas = null);

/// <summary>
/// Backdoors the model once per (trigger, seed), then estimates τ with each variant, chooses α by one rule on validation,
/// and evaluates once on the test split with per-class CA and relapse. Resumable: every finished piece is a file.
/// </summary>
public static class ArithmeticExperiment
{
    public static List<VariantResult> Run(ArithmeticOptions o, Action<string>? status = null, IProgress<TrainProgress>? progress = null)
    {
        status ??= _ => { };
        foreach (var v in o.Variants) ArithmeticVariants.Get(v);
        if (o.CollectOnly) return [.. o.Attacks.SelectMany(a => o.Seeds.SelectMany(seed => Finished(o, CellDir(o.Out, a, seed))))];
        var results = new List<VariantResult>();
        using var data = DataSpec.Load(o.Data, ClipCheckpoint.ReadConfig(o.Model).Vision.ImageSize);
        foreach (var attack in o.Attacks)
            foreach (var seed in o.Seeds)
                results.AddRange(Cell(o, data, attack, seed, status, progress));
        return results;
    }

    /// <summary>The variants of the cell in <paramref name="dir"/> already finished, in the options' order.</summary>
    static List<VariantResult> Finished(ArithmeticOptions o, string dir) =>
        [.. o.Variants.Select(v => VariantFile(dir, v)).Where(File.Exists).Select(Load)];

    /// <summary>Folder of one (trigger, seed) cell.</summary>
    public static string CellDir(string outDir, string attack, long seed) => Path.Combine(outDir, $"{TriggerSpec.Parse(attack).Name}-seed{seed}");

    static IEnumerable<VariantResult> Cell(ArithmeticOptions o, DataSplits data, string attack, long seed, Action<string> status,
        IProgress<TrainProgress>? progress)
    {
        string dir = CellDir(o.Out, attack, seed);
        var todo = o.Variants.Where(v => !File.Exists(VariantFile(dir, v))).ToList();
        var done = Finished(o, dir);
        if (todo.Count == 0) return done;
        using var model = Backdoored(o, data, attack, seed, dir, status, progress);
        var tokenizer = Tokenizers.For(model, null);
        using var head = ZeroShotHead.Build(model, tokenizer, data.Test.ClassNames, Captions.Templates);
        // The trigger as planted (a "badclip" spec names an optimisation; what it planted is a patch, recorded in attack.json).
        var trigger = Triggers.Parse(CellAttack.TriggerSpecIn(Path.Combine(dir, "model")));
        int target = data.Train.ClassIndex(o.Target);
        var plan = PoisonPlan.Draw(data.TrainIndices, data.Train.Labels, target, o.PoisonRate, seed);
        var task = UnlearnTask.FromPool(data.Train, plan.CleanPool(data.TrainIndices), trigger, target, o.ForgetSize, o.ValSize, seed);
        var backdoored = ClassSplit.Of(Metrics.Evaluate(model, head, data.Test, data.Test.AllIndices(), trigger, target), target);
        var start = VisualWeights.Snapshot(model);
        foreach (var name in todo)
        {
            status($"{TriggerSpec.Parse(attack).Name} seed {seed}: {name}");
            VisualWeights.Restore(model, start);
            var r = RunVariant(ArithmeticVariants.Get(name), model, head, task, data, trigger, target, o.Rule, backdoored, attack, seed);
            AtomicFile.WriteText(VariantFile(dir, name), JsonSerializer.Serialize(r, RunRecord.Json) + "\n");
            done.Add(r);
        }
        VisualWeights.Dispose([start]);
        return done;
    }

    static string VariantFile(string dir, string variant) => Path.Combine(dir, variant.Replace(':', '_').Replace(',', '_') + ".json");

    static VariantResult Load(string path) =>
        JsonSerializer.Deserialize<VariantResult>(File.ReadAllText(path), RunRecord.Json) ?? throw new TbarException($"{path}: empty result");

    /// <summary>The cell's backdoored model (<see cref="SavedBackdoor"/>), with its patch (optimised triggers) inside the folder.</summary>
    static Clip Backdoored(ArithmeticOptions o, DataSplits data, string attack, long seed, string dir, Action<string> status,
        IProgress<TrainProgress>? progress)
    {
        string modelDir = Path.Combine(dir, "model");
        return SavedBackdoor.LoadOrPlant(modelDir, o.Model, model =>
        {
            status($"{attack} seed {seed}: backdoor attack");
            var options = new AttackOptions(attack, o.Target, o.PoisonRate, AttackMode.Supervised,
                BackdoorAttack.DefaultTrain(AttackMode.Supervised), seed);
            var outcome = BackdoorAttack.Run(model, Tokenizers.For(model, null), data.Train, data.TrainIndices, data.Test, options,
                Path.Combine(modelDir, "patch.png"), progress);
            return stage =>
            {
                if (outcome.Patch is { } patch) ImageFile.SavePng(Path.Combine(stage, "patch.png"), patch);
                CellAttack.Write(stage, outcome);
            };
        });
    }

    static VariantResult RunVariant(ArithmeticVariant v, Clip model, ZeroShotHead head, UnlearnTask task, DataSplits data, ITrigger trigger,
        int target, AlphaRule rule, ClassSplit backdoored, string attack, long seed)
    {
        var clock = Stopwatch.StartNew();
        var (earlier, floor) = EarlierRounds(v, model, head, task, rule);
        rule = rule with { CaFloor = floor };
        using var tau = v.Tau.Estimate(model, head, task);
        Action<double>? refit = v.BiasRefit ? _ => RefitBias(model, head, task) : null;
        var choice = Negation.Choose(model, head, task, tau, rule, refit);
        Negation.Apply(model, tau, choice.Alpha);
        refit?.Invoke(choice.Alpha);
        double seconds = clock.Elapsed.TotalSeconds;
        var all = data.Test.AllIndices();
        var test = ClassSplit.Of(Metrics.Evaluate(model, head, data.Test, all, trigger, target), target);
        double? relapse = choice.Alpha > 0 ? MethodEvaluation.Relapse(model, head, task, data, trigger, target) : null;
        head.Bias?.Dispose();
        head.Bias = null;
        return new VariantResult(attack, seed, v.Name, v.Tau.Describe() + (v.BiasRefit ? "; class bias re-fitted" : ""),
            choice.Alpha, choice.Feasible, choice.Reason, test, backdoored, test.Ca / backdoored.Ca, test.OthersCa / backdoored.OthersCa,
            relapse, tau.Norm(), seconds, choice.Curve,
            tau.Metadata.TryGetValue("target_vector_cosine", out var cosine) ? double.Parse(cosine, CultureInfo.InvariantCulture) : null,
            v.Rounds > 1 ? [.. earlier, choice.Alpha] : null);
    }

    /// <summary>
    /// Runs the variant's earlier rounds (<see cref="ArithmeticVariant.Rounds"/>) and leaves the model at their result; returns
    /// their α values and the last round's CA floor, re-scaled so that it is still <paramref name="rule"/>'s share of the
    /// backdoored model's validation CA.
    /// </summary>
    static (List<double> Alphas, double Floor) EarlierRounds(ArithmeticVariant v, Clip model, ZeroShotHead head, UnlearnTask task, AlphaRule rule)
    {
        var alphas = new List<double>();
        if (v.Rounds == 1) return (alphas, rule.CaFloor);
        double backdoored = task.Point(model, head, 0).CleanAccuracy.Value, current = backdoored;
        for (int r = 1; r < v.Rounds; r++)
        {
            using var step = v.Tau.Estimate(model, head, task);
            var choice = Negation.Choose(model, head, task, step, rule with { CaFloor = v.RoundFloor * backdoored / current });
            // θ − α·τ stays in the model for the next round.
            Negation.Apply(model, step, choice.Alpha);
            alphas.Add(choice.Alpha);
            current = choice.Point.CleanAccuracy.Value;
        }
        return (alphas, rule.CaFloor * backdoored / current);
    }

    /// <summary>The class bias re-fitted on the clean budget for the model as it is now.</summary>
    static void RefitBias(Clip model, ZeroShotHead head, UnlearnTask task)
    {
        head.Bias?.Dispose();
        head.Bias = null;
        head.Bias = BiasRecalibration.Fit(model, head, task);
    }
}
