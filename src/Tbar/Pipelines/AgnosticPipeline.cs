using System.Diagnostics;
using Tbar.Attacks;
using Tbar.Data;
using Tbar.Evaluation;
using Tbar.Inversion;
using Tbar.Models;
using Tbar.Unlearning;

namespace Tbar.Pipelines;

/// <summary>One scanned model: what it really is, the verdict, and the test metrics of each cleaning (real trigger, real target).</summary>
public sealed record AgnosticRow(long Seed, string Trigger, bool ReallyBackdoored, ScanVerdict Verdict, TestRow Model,
    IReadOnlyList<TestRow> Cleaned);

/// <summary>The scan step and the cleaning on its proxy trigger, shared by the demo and the experiment.</summary>
public static class Agnostic
{
    /// <summary>Methods run on the proxy forget set, by registry name.</summary>
    public static readonly string[] ProxyMethods = ["tbar", "tbar-refit", "ga"];

    /// <summary>
    /// Scans <paramref name="model"/> on the defender's clean <paramref name="pool"/>; when the verdict is "backdoored",
    /// cleans it with each of <see cref="ProxyMethods"/> on the inverted trigger and inferred target (weights restored
    /// between methods and at the end) and evaluates on the test split with the real trigger and target.
    /// </summary>
    public static (ScanVerdict Verdict, List<TestRow> Rows) ScanAndClean(Clip model, ZeroShotHead head, DataSplits data, long[] pool,
        double threshold, string thresholdSource, ScanOptions scan, ITrigger realTrigger, int realTarget, int forgetSize, int valSize, long seed,
        MethodOptions options, Action<string> status, IProgress<TrainProgress>? progress)
    {
        status("scan: trigger inversion");
        var verdict = Scanner.Scan(model, head, data.Train, pool, threshold, thresholdSource, scan, progress);
        var rows = new List<TestRow>();
        if (!verdict.Backdoored) return (verdict, rows);
        var task = UnlearnTask.FromPool(data.Train, pool, verdict.Inversion.Trigger, verdict.Target, forgetSize, valSize, seed);
        var start = VisualWeights.Snapshot(model);
        foreach (var method in ProxyMethods)
        {
            status($"unlearning on the inverted trigger: {method}");
            var (row, record) = MethodEvaluation.Run(method, $"{method} (inverted)", model, head, task, start, data, realTrigger, realTarget,
                options, relapse: false);
            rows.Add(row);
            record.Tau?.Dispose();
        }
        VisualWeights.Restore(model, start);
        VisualWeights.Dispose([start]);
        return (verdict, rows);
    }
}

/// <summary>Settings of the attack-agnostic experiment.</summary>
/// <param name="Model">The clean pre-trained model (the shipped mini-CLIP).</param>
/// <param name="Triggers">Planted triggers, one backdoored model per trigger and seed.</param>
/// <param name="Seeds">Test seeds: attacks, clean fine-tunes, scans.</param>
/// <param name="CalibrationSeeds">Seeds of the clean fine-tunes the threshold is calibrated on (disjoint from <paramref name="Seeds"/>).</param>
/// <param name="Data">Data spec.</param>
/// <param name="Target">Target class of the planted backdoors.</param>
/// <param name="Scan">Scan settings.</param>
/// <param name="ForgetSize">Forget-set size.</param>
/// <param name="ValSize">Validation size.</param>
/// <param name="AttackEpochs">Epochs of attacks and clean fine-tunes.</param>
/// <param name="TrainLimit">Use only the first this many training indices (0: all).</param>
public sealed record AgnosticOptions(string Model, string[] Triggers, long[] Seeds, long[] CalibrationSeeds, string Data = Defaults.Data,
    string Target = "Bag", ScanOptions? Scan = null, int ForgetSize = Defaults.ForgetSize, int ValSize = Defaults.ValSize,
        int AttackEpochs = 3, int TrainLimit = 0)
{
    public ScanOptions ScanSettings => Scan ?? ScanOptions.Default;
}

/// <summary>Calibration on clean models, then scan → clean for backdoored and clean models over seeds.</summary>
public static class AgnosticExperiment
{
    /// <summary>Clean models: the pre-trained one and one clean fine-tune per calibration seed; their PL1 sets the threshold.</summary>
    public static ScanCalibration Calibrate(AgnosticOptions o, Action<string> status, IProgress<TrainProgress>? progress)
    {
        if (o.CalibrationSeeds.Intersect(o.Seeds).Any()) throw new TbarException("calibration seeds must differ from the test seeds");
        using var data = Load(o);
        var found = new List<CalibrationModel>();
        string? architecture = null;
        foreach (long? seed in o.CalibrationSeeds.Select(s => (long?)s).Prepend(null))
        {
            using var model = ClipCheckpoint.Load(o.Model);
            architecture = Scanner.Architecture(model);
            string name = seed == null ? "pre-trained" : $"clean fine-tune seed {seed}";
            if (seed != null)
            {
                status($"calibration: {name}");
                BackdoorAttack.TrainClean(model, Tokenizers.For(model, null), data.Train, data.TrainIndices, Attack(o, "badnet",
                    seed.Value), progress);
            }
            status($"calibration: inversion on {name}");
            found.Add(Scanner.MeasureClean(model, name, data.Train, data.TrainIndices, o.ScanSettings, progress));
        }
        return Scanner.Calibrate(found, architecture!);
    }

    /// <summary>For each seed: a clean fine-tune and one backdoored model per trigger, each scanned and (if flagged) cleaned.</summary>
    public static List<AgnosticRow> Run(AgnosticOptions o, ScanCalibration calibration, Action<string> status, IProgress<TrainProgress>? progress,
        Action<AgnosticRow>? done = null)
    {
        using var data = Load(o);
        int target = data.Train.ClassIndex(o.Target);
        var rows = new List<AgnosticRow>();
        foreach (long seed in o.Seeds)
            foreach (string? triggerSpec in o.Triggers.Prepend(null))
            {
                using var model = ClipCheckpoint.Load(o.Model);
                var tokenizer = Tokenizers.For(model, null);
                var reference = Triggers.Parse(triggerSpec ?? o.Triggers.FirstOrDefault() ?? "badnet:size=3");
                var clock = Stopwatch.StartNew();
                long[] pool;
                TestRow modelRow;
                using var head = ZeroShotHead.ForClasses(model, tokenizer, data.Test.ClassNames);
                if (triggerSpec == null)
                {
                    status($"seed {seed}: clean fine-tune");
                    BackdoorAttack.TrainClean(model, tokenizer, data.Train, data.TrainIndices, Attack(o, reference.Spec, seed), progress);
                    pool = data.TrainIndices;
                    modelRow = new TestRow("clean fine-tune", Metrics.Evaluate(model, head, data.Test, data.Test.AllIndices(), reference, target),
                        null, clock.Elapsed.TotalSeconds, $"ASR measured with {reference.Spec}");
                }
                else
                {
                    status($"seed {seed}: attack {triggerSpec}");
                    var attack = BackdoorAttack.Run(model, tokenizer, data.Train, data.TrainIndices, data.Test, Attack(o, triggerSpec,
                        seed), null, progress);
                    pool = attack.Poisoned.CleanPool(data.TrainIndices);
                    modelRow = new TestRow("backdoored", attack.Test, null, attack.Training.Seconds, attack.TriggerSpec);
                }
                var (verdict, cleaned) = Agnostic.ScanAndClean(model, head, data, pool, calibration.Threshold, calibration.Rule,
                    o.ScanSettings with { Inversion = o.ScanSettings.Inversion with { Seed = seed } }, reference, target, o.ForgetSize,
                        o.ValSize, seed,
                    MethodOptions.Experiments, status, progress);
                if (triggerSpec != null)
                {
                    // Known-trigger TBAR on the same pool, for comparison.
                    status($"seed {seed}: tbar with the known trigger");
                    var task = UnlearnTask.FromPool(data.Train, pool, reference, target, o.ForgetSize, o.ValSize, seed);
                    var start = VisualWeights.Snapshot(model);
                    var (known, record) = MethodEvaluation.Run("tbar", "tbar (known trigger)", model, head, task, start, data, reference, target,
                        MethodOptions.Experiments, relapse: false, progress);
                    record.Tau?.Dispose();
                    VisualWeights.Dispose([start]);
                    cleaned.Add(known);
                }
                var row = new AgnosticRow(seed, triggerSpec ?? "none", triggerSpec != null, verdict, modelRow, cleaned);
                rows.Add(row);
                done?.Invoke(row);
                verdict.Inversion.Trigger.Dispose();
            }
        return rows;
    }

    static AttackOptions Attack(AgnosticOptions o, string trigger, long seed) =>
        new(trigger, o.Target, Defaults.PoisonRate, AttackMode.Supervised,
            BackdoorAttack.DefaultTrain(AttackMode.Supervised) with { Epochs = o.AttackEpochs, Seed = seed }, seed);

    static DataSplits Load(AgnosticOptions o)
    {
        using var probe = ClipCheckpoint.Load(o.Model);
        var full = DataSpec.Load(o.Data, probe.Config.Vision.ImageSize);
        return o.TrainLimit > 0 ? full.WithTrainIndices(full.TrainIndices.Take(o.TrainLimit).ToArray()) : full;
    }
}
