using System.Diagnostics;
using System.Text.Json;
using Tbar.Analysis;
using Tbar.Attacks;
using Tbar.Data;
using Tbar.Evaluation;
using Tbar.Io;
using Tbar.Models;
using Tbar.Unlearning;
using static TorchSharp.torch;

namespace Tbar.Pipelines;

/// <summary>One attack of the main table: a trigger and how it is planted.</summary>
/// <param name="Name">Table name, e.g. "badnet" or "badnet-contrastive".</param>
/// <param name="Trigger">Trigger spec; for <paramref name="TargetMean"/> attacks, completed per cell with the pattern's path.</param>
/// <param name="Mode">Supervised or contrastive poisoning.</param>
/// <param name="TargetMean">The adaptive attack: the blend pattern is the mean image of the target class.</param>
public sealed record MainAttack(string Name, string Trigger, AttackMode Mode, bool TargetMean = false);

/// <summary>The attacks <c>tbar experiment main</c> knows, by name.</summary>
public static class MainAttacks
{
    static readonly MainAttack[] All =
    [
        new("badnet", "badnet:size=3", AttackMode.Supervised),
        new("blended", "blended:ratio=0.2", AttackMode.Supervised),
        new("wanet", "wanet:k=4,s=6", AttackMode.Supervised),
        new("sig", "sig:amp=0.0784,freq=6", AttackMode.Supervised),
        new("badclip", "badclip:size=4,steps=100", AttackMode.Supervised),
        new("badnet-contrastive", "badnet:size=3", AttackMode.Contrastive),
        new("badclip-contrastive", "badclip:size=4,steps=100", AttackMode.Contrastive),
        // Adaptive against TBAR: the trigger is the target class's own mean image, blended in, so the feature the
        // backdoor keys on is the target class's feature and the trigger vector cannot be told apart from it.
        new("adaptive", "blended:ratio=0.2,pattern=image", AttackMode.Supervised, TargetMean: true),
    ];

    /// <summary>Valid names, in table order.</summary>
    public static IReadOnlyList<string> Names => All.Select(a => a.Name).ToList();

    /// <summary>The attacks the main table runs by default (every one but the adaptive attack, which has its own table).</summary>
    public static string[] Default => All.Where(a => !a.TargetMean).Select(a => a.Name).ToArray();

    /// <summary>The attack by name; an unknown name lists the valid ones.</summary>
    public static MainAttack Get(string name) => All.FirstOrDefault(a => a.Name == name)
        ?? throw new TbarException($"unknown attack '{name}' (valid: {string.Join(", ", Names)})");
}

/// <summary>A model of the main table: its table name and its folder.</summary>
public sealed record ModelRef(string Name, string Path);

/// <summary>Settings of the main experiment.</summary>
/// <param name="Models">(table name, folder) of each clean model to backdoor.</param>
/// <param name="Attacks">Attack names (<see cref="MainAttacks"/>).</param>
/// <param name="Seeds">Seeds; each (model, attack, seed) is one backdoored model.</param>
/// <param name="Methods">Unlearning methods by registry name.</param>
/// <param name="Out">Output folder, one sub-folder per cell; finished rows are skipped.</param>
/// <param name="Options">Every method's options.</param>
/// <param name="RetuneK">Poisoned-sample counts of the re-tuning attack.</param>
/// <param name="Target">Target class of every attack.</param>
/// <param name="PoisonRate">Poisoned share of the attack's training set.</param>
/// <param name="ForgetSize">Forget-set size (also the clean budget).</param>
/// <param name="ValSize">Validation size.</param>
/// <param name="AttackEpochs">Epochs of the attacks and clean references (null: the mode's recipe).</param>
/// <param name="AttackLr">Peak learning rate of the attacks and clean references (null: the mode's recipe).</param>
/// <param name="CollectOnly">Only gather finished rows; compute nothing.</param>
/// <param name="Data">Data spec (Fashion-MNIST by default; a smaller copy for tests).</param>
public sealed record MainOptions(IReadOnlyList<ModelRef> Models, string[] Attacks, long[] Seeds, string[] Methods, string Out,
    MethodOptions Options, int[] RetuneK, string Target = "Bag", double PoisonRate = Defaults.PoisonRate,
        int ForgetSize = Defaults.ForgetSize, int ValSize = Defaults.ValSize,
    int? AttackEpochs = null, double? AttackLr = null, bool CollectOnly = false, string Data = Defaults.Data)
{
    /// <summary>The methods the main table runs by default; cleanclip runs on the contrastive attacks only.</summary>
    public static readonly string[] DefaultMethods = Unlearning.Methods.MainDefault;
}

/// <summary>
/// One row of the main table: a model after a method (or the backdoored model, or the clean reference), on the test split.
/// Retention is CA over the backdoored model's CA; relapse and re-tuning ASR are measured on a copy and undone.
/// </summary>
public sealed record MainRow(string Model, string Attack, long Seed, string Method, double Ca, double? Asr, double TargetCa, double OthersCa,
    double Retention, double OthersRetention, double? RelapseAsr, IReadOnlyDictionary<string, double>? RetuneAsr, double? Alpha,
    bool? Feasible, string Choice, double Seconds, IReadOnlyList<Rate> PerClass, IReadOnlyList<AlphaPoint>? Curve, double? TauNorm = null,
    LinearisationGapResult? Linear = null, PathResult? Path = null)
{
    /// <summary>Whether the row is TBAR's arithmetic at work: a method that chose an α, and chose one above zero.</summary>
    public bool Negated => Alpha is > 0;
}

/// <summary>
/// <c>tbar experiment main</c>: models × attacks × seeds × methods. Each (model, attack, seed) cell backdoors the model
/// once (saved in the cell), trains one clean reference per (model, mode, seed) as the yardstick, then runs every method
/// from the backdoored weights, choosing on validation only, and measures on the test split: CA per class, ASR, relapse
/// after a clean fine-tune and ASR after re-tuning on k poisoned samples. Every finished row is a file, so a killed run
/// resumes where it stopped.
/// </summary>
public static class MainExperiment
{

    public static List<MainRow> Run(MainOptions o, Action<string>? status = null, IProgress<TrainProgress>? progress = null)
    {
        status ??= _ => { };
        foreach (var a in o.Attacks) MainAttacks.Get(a);
        foreach (var m in o.Methods) Methods.Check(m);
        var rows = new List<MainRow>();
        foreach (var (name, path) in o.Models.Select(m => (m.Name, m.Path)))
            foreach (var seed in o.Seeds)
                foreach (var attack in o.Attacks)
                    rows.AddRange(Cell(o, name, path, MainAttacks.Get(attack), seed, status, progress));
        return rows;
    }

    /// <summary>Folder of one (model, attack, seed) cell.</summary>
    public static string CellDir(string outDir, string model, string attack, long seed) => Path.Combine(outDir, model, attack, $"seed{seed}");

    /// <summary>The methods that run on an attack: cleanclip only where the backdoor was planted contrastively.</summary>
    public static IEnumerable<string> MethodsFor(MainOptions o, MainAttack a) =>
        o.Methods.Where(m => m != "cleanclip" || a.Mode == AttackMode.Contrastive);

    static IEnumerable<MainRow> Cell(MainOptions o, string modelName, string modelPath, MainAttack attack, long seed, Action<string> status,
        IProgress<TrainProgress>? progress)
    {
        string dir = CellDir(o.Out, modelName, attack.Name, seed);
        // The clean reference last: no method row needs it, and a run stopped early should have the methods' rows first.
        var names = new[] { "backdoored" }.Concat(MethodsFor(o, attack)).Append("clean_reference").ToList();
        var todo = names.Where(n => !File.Exists(RowFile(dir, n))).ToList();
        var done = names.Except(todo).Select(n => Load(RowFile(dir, n))).ToList();
        if (todo.Count == 0 || o.CollectOnly) return done;
        string where = $"{modelName} {attack.Name} seed {seed}";
        using var data = DataSpec.Load(o.Data, ClipCheckpoint.ReadConfig(modelPath).Vision.ImageSize);
        int target = data.Train.ClassIndex(o.Target);
        var attackOptions = AttackOf(attack, dir, data, o.Target, o.PoisonRate, seed, o.AttackEpochs, o.AttackLr);
        string spec = attackOptions.Trigger;
        using var model = Backdoored(dir, modelPath, data, attackOptions, s => status($"{where}: {s}"), progress);
        var trigger = PlantedTrigger(dir);
        var tokenizer = Tokenizers.For(model, null);
        using var head = ZeroShotHead.ForClasses(model, tokenizer, data.Test.ClassNames);
        var plan = PoisonPlan.Draw(data.TrainIndices, data.Train.Labels, target, o.PoisonRate, seed);
        var task = UnlearnTask.FromPool(data.Train, plan.CleanPool(data.TrainIndices), trigger, target, o.ForgetSize, o.ValSize, seed);
        var backdoored = Metrics.Evaluate(model, head, data.Test, data.Test.AllIndices(), trigger, target);
        var ctx = new CellContext(modelName, attack.Name, seed, data, trigger, target, task, backdoored, o.RetuneK);
        var start = VisualWeights.Snapshot(model);
        foreach (var name in todo)
        {
            status($"{where}: {name}");
            var row = name switch
            {
                "backdoored" => ctx.Row("backdoored", backdoored, null, null, spec, 0, null, null),
                "clean_reference" => Reference(o, ctx, modelName, modelPath, tokenizer, attackOptions, progress),
                _ => Method(o, ctx, name, model, head, start, progress),
            };
            AtomicFile.WriteText(RowFile(dir, name), JsonSerializer.Serialize(row, RunRecord.Json) + "\n");
            done.Add(row);
        }
        VisualWeights.Dispose([start]);
        return done;
    }

    /// <summary>What every row of a cell shares.</summary>
    sealed record CellContext(string Model, string Attack, long Seed, DataSplits Data, ITrigger Trigger, int Target, UnlearnTask Task,
        AttackMetrics Backdoored, int[] RetuneK)
    {
        public MainRow Row(string method, AttackMetrics m, double? relapse, IReadOnlyDictionary<string, double>? retune, string choice,
            double seconds, AlphaChoice? alpha, IReadOnlyList<AlphaPoint>? curve)
        {
            double others = m.OtherClasses(Target)!.Value, backdooredOthers = Backdoored.OtherClasses(Target)!.Value;
            return new MainRow(Model, Attack, Seed, method, m.CleanAccuracy.Value, m.AttackSuccess?.Value, m.TargetClass(Target)!.Value, others,
                m.CleanAccuracy.Value / Backdoored.CleanAccuracy.Value, others / backdooredOthers, relapse, retune, alpha?.Alpha, alpha?.Feasible,
                choice, seconds, m.PerClass!, curve);
        }

        /// <summary>Relapse and re-tuning ASR of the model as it is now (restored after each).</summary>
        public (double Relapse, Dictionary<string, double> Retune) Robustness(Clip model, ZeroShotHead head) =>
            (MethodEvaluation.Relapse(model, head, Task, Data, Trigger, Target),
             RetuneK.ToDictionary(k => k.ToString(), k => MethodEvaluation.Retune(model, head, Task, Data, Trigger, Target, k,
                 Defaults.Retune.CleanImages)));
    }

    static MainRow Method(MainOptions o, CellContext ctx, string method, Clip model, ZeroShotHead head, Dictionary<string, Tensor> start,
        IProgress<TrainProgress>? progress)
    {
        var (row, record) = MethodEvaluation.Run(method, method, model, head, ctx.Task, start, ctx.Data, ctx.Trigger, ctx.Target, o.Options,
            relapse: false, progress);
        var (relapse, retune) = ctx.Robustness(model, head);
        var result = ctx.Row(method, row.Test, relapse, retune, record.Choice, row.Seconds, record.Alpha, record.Alpha?.Curve) with
        {
            Path = PathAnalysis.Run(model, head, ctx.Task, start, record.Tau),
        };
        if (record.Tau is not { } tau) return result;
        using (tau)
        {
            // The tangent model's view of the edit, measured at θ_b.
            VisualWeights.Restore(model, start);
            var linear = LinearisationGap.Measure(model, head, ctx.Task, tau, record.Alpha?.Alpha ?? 0);
            return result with { TauNorm = tau.Norm(), Linear = linear };
        }
    }

    static MainRow Reference(MainOptions o, CellContext ctx, string modelName, string modelPath, ClipTokenizer tokenizer, AttackOptions attack,
        IProgress<TrainProgress>? progress)
    {
        string dir = Path.Combine(o.Out, modelName, $"clean-{attack.Mode.ToString().ToLowerInvariant()}-seed{ctx.Seed}");
        var clock = Stopwatch.StartNew();
        if (!SavedBackdoor.HoldsModel(dir))
        {
            using var fresh = ClipCheckpoint.Load(modelPath);
            var training = BackdoorAttack.TrainClean(fresh, tokenizer, ctx.Data.Train, ctx.Data.TrainIndices, attack, progress);
            AtomicFolder.Write(dir, SavedBackdoor.WeightsFile(fresh), stage =>
            {
                ClipCheckpoint.WriteInto(fresh, stage);
                AtomicFile.WriteText(Path.Combine(stage, "training.json"), JsonSerializer.Serialize(training, RunRecord.Json));
            });
        }
        using var reference = ClipCheckpoint.Load(dir);
        using var head = ZeroShotHead.ForClasses(reference, tokenizer, ctx.Data.Test.ClassNames);
        var test = Metrics.Evaluate(reference, head, ctx.Data.Test, ctx.Data.Test.AllIndices(), ctx.Trigger, ctx.Target);
        var (relapse, retune) = ctx.Robustness(reference, head);
        return ctx.Row("clean_reference", test, relapse, retune, "same recipe without poison", clock.Elapsed.TotalSeconds, null, null);
    }

    /// <summary>The trigger spec of a cell; the adaptive attack's pattern (the target class's mean training image) is written there.</summary>
    static string TriggerFor(MainAttack attack, string dir, DataSplits data, int target)
    {
        if (!attack.TargetMean) return attack.Trigger;
        string path = Path.Combine(dir, "target-mean.png");
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(dir);
            var ids = data.TrainIndices.Where(i => data.Train.Labels[i] == target).ToArray();
            using var images = data.Train.Images(ids);
            using var mean = images.mean([0]);
            ImageFile.SavePng(path, mean);
        }
        return $"{attack.Trigger},path={path}";
    }

    /// <summary>
    /// A cell's attack as the main table plants it: the attack's trigger (the adaptive attack's pattern written into
    /// <paramref name="dir"/>), the mode's recipe with <paramref name="epochs"/> and <paramref name="lr"/> when given, and the seed.
    /// The detection experiment plants through this too, so both tables hold the same backdoored models.
    /// </summary>
    public static AttackOptions AttackOf(MainAttack attack, string dir, DataSplits data, string target, double poisonRate, long seed, int? epochs,
        double? lr)
    {
        string spec = TriggerFor(attack, dir, data, data.Train.ClassIndex(target));
        var recipe = BackdoorAttack.DefaultTrain(attack.Mode);
        recipe = recipe with { Epochs = epochs ?? recipe.Epochs, LearningRate = lr ?? recipe.LearningRate };
        return new AttackOptions(spec, target, poisonRate, attack.Mode, recipe, seed);
    }

    /// <summary>The folder of a cell's backdoored model.</summary>
    public static string BackdoorDir(string cellDir) => Path.Combine(cellDir, "backdoored");

    /// <summary>The trigger planted in a cell's backdoored model (its trigger.txt).</summary>
    public static ITrigger PlantedTrigger(string cellDir) =>
        Triggers.Parse(File.ReadAllText(Path.Combine(BackdoorDir(cellDir), "trigger.txt")).Trim());

    /// <summary>The cell's backdoored model (<see cref="SavedBackdoor"/>), with the trigger spec in trigger.txt beside its weights.</summary>
    public static Clip Backdoored(string dir, string cleanPath, DataSplits data, AttackOptions o, Action<string> status,
        IProgress<TrainProgress>? progress) => SavedBackdoor.LoadOrPlant(BackdoorDir(dir), cleanPath, model =>
    {
        status("backdoor attack");
        string patchPath = Path.Combine(dir, "patch.png");
        var outcome = BackdoorAttack.Run(model, Tokenizers.For(model, null), data.Train, data.TrainIndices, data.Test, o, patchPath, progress);
        // The patch goes beside the folder its spec names before the folder appears, so a saved model's trigger always loads.
        if (outcome.Patch is { } patch) ImageFile.SavePng(patchPath, patch);
        return stage =>
        {
            AtomicFile.WriteText(Path.Combine(stage, "trigger.txt"), outcome.TriggerSpec + "\n");
            CellAttack.Write(stage, outcome);
        };
    });

    // "tbar:NAME" rows: a colon is not allowed in file names on every system a clone may land on.
    static string RowFile(string dir, string name) => Path.Combine(dir, name.Replace(':', '_') + ".json");

    /// <summary>Every finished row under <paramref name="outDir"/> (any model, attack, seed), in a stable order.</summary>
    public static List<MainRow> Collect(string outDir) => !Directory.Exists(outDir) ? [] : Directory
        .EnumerateFiles(outDir, "*.json", SearchOption.AllDirectories)
        .Where(f => Path.GetFileName(Path.GetDirectoryName(f)!).StartsWith("seed"))
        .Select(Load).OrderBy(r => r.Model, StringComparer.Ordinal).ThenBy(r => Order(MainAttacks.Names, r.Attack)).ThenBy(r => r.Seed)
        .ThenBy(r => Order(RowOrder, r.Method)).ToList();

    static readonly string[] RowOrder = ["backdoored", "clean_reference", .. MainOptions.DefaultMethods];

    static int Order(IReadOnlyList<string> names, string name) => names.ToList().IndexOf(name) is var i and >= 0 ? i : names.Count;

    static MainRow Load(string path) =>
        JsonSerializer.Deserialize<MainRow>(File.ReadAllText(path), RunRecord.Json) ?? throw new TbarException($"{path}: empty result");
}
