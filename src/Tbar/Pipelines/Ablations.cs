using System.Diagnostics;
using Tbar.Analysis;
using Tbar.Arithmetic;
using Tbar.Attacks;
using Tbar.Data;
using Tbar.Evaluation;
using Tbar.Models;
using Tbar.Unlearning;

namespace Tbar.Pipelines;

/// <summary>TBAR at one forget-set size: the α chosen on validation and the test metrics.</summary>
public sealed record ForgetSizePoint(int Size, double Alpha, bool Feasible, AttackMetrics Test, double Seconds);

/// <summary>One transfer row: a model, how it was made, and its test metrics on the second dataset.</summary>
public sealed record TransferRow(string Model, double? Alpha, AttackMetrics Test, string Note);

/// <summary>The transfer experiment's rows and the cosine between the two datasets' trigger vectors.</summary>
public sealed record TransferResult(IReadOnlyList<TransferRow> Rows, double VectorCosine, string[] ClassesA, string[] ClassesB, double Seconds);

/// <summary>The transfer experiment's setting: trigger, target, and the class names of the two subsets.</summary>
public sealed record TransferSettings(string Trigger, string Target, string[] ClassesA, string[] ClassesB);

/// <summary>Forget-set size ablation and cross-dataset transfer of trigger vectors.</summary>
public static class Ablations
{
    /// <summary>
    /// <see cref="ForgetSizes(Clip, ZeroShotHead, DataSplits, long[], ITrigger, int, int[], int, TbarOptions, long, Action{string})"/>
    /// on an unlearn run's backdoored model and known trigger, with the defender's pool of <paramref name="dataSpec"/>.
    /// </summary>
    public static List<ForgetSizePoint> ForgetSizes(UnlearnedRun run, string dataSpec, int[] sizes, int valSize, TbarOptions options, long seed,
        Action<string>? status = null)
    {
        if (sizes.Length == 0 || sizes.Any(s => s < 1)) throw new TbarException("--sizes must be positive");
        using var backdoored = ClipCheckpoint.Load(run.Backdoored);
        using var splits = DataSpec.Load(dataSpec, backdoored.Config.Vision.ImageSize);
        using var head = ZeroShotHead.ForClasses(backdoored, Tokenizers.For(backdoored, null), splits.Train.ClassNames);
        return ForgetSizes(backdoored, head, splits, splits.TrainIndices, Triggers.Parse(run.TriggerSpec), splits.Train.ClassIndex(run.Target),
            sizes, valSize, options, seed, status);
    }

    /// <summary>
    /// TBAR on <paramref name="backdoored"/> with each forget-set size; the weights are restored between sizes. Validation
    /// and the clean pool come from <paramref name="pool"/>; test metrics from the whole test split.
    /// </summary>
    public static List<ForgetSizePoint> ForgetSizes(Clip backdoored, ZeroShotHead head, DataSplits data, long[] pool, ITrigger trigger, int target,
        int[] sizes, int valSize, TbarOptions options, long seed, Action<string>? status = null)
    {
        var methodOptions = MethodOptions.Default with { Tbar = options };
        var start = VisualWeights.Snapshot(backdoored);
        var points = new List<ForgetSizePoint>();
        try
        {
            foreach (int size in sizes)
            {
                status?.Invoke($"forget set of {size}");
                var task = UnlearnTask.FromPool(data.Train, pool, trigger, target, size, valSize, seed);
                var (row, record) = MethodEvaluation.Run("tbar", $"forget set of {size}", backdoored, head, task, start, data, trigger, target,
                    methodOptions, relapse: false);
                record.Tau?.Dispose();
                points.Add(new ForgetSizePoint(size, record.Alpha!.Alpha, record.Alpha.Feasible, row.Test, row.Seconds));
            }
        }
        finally
        {
            VisualWeights.Restore(backdoored, start);
            VisualWeights.Dispose([start]);
        }
        return points;
    }

    /// <summary>
    /// The transfer experiment on Fashion-MNIST: class names are matched to the dataset's own spelling first (the
    /// returned settings hold them), then <see cref="Transfer(string, DataSplits, string[], string[], string, string, int, int,
    /// TbarOptions, long, Action{string}, IProgress{TrainProgress})"/> runs.
    /// </summary>
    public static (TransferSettings Settings, TransferResult Result) Transfer(string pretrained, TransferSettings asTyped, int forgetSize,
        int valSize, TbarOptions options, long seed, Action<string>? status = null, IProgress<TrainProgress>? progress = null)
    {
        int imageSize;
        using (var probe = ClipCheckpoint.Load(pretrained)) imageSize = probe.Config.Vision.ImageSize;
        using var full = DataSpec.Load(Defaults.Data, imageSize);
        string Name(string c) => full.Train.ClassNames[full.Train.ClassIndex(c)];
        var s = new TransferSettings(asTyped.Trigger, Name(asTyped.Target), [.. asTyped.ClassesA.Select(Name)], [.. asTyped.ClassesB.Select(Name)]);
        var result = Transfer(pretrained, full, s.ClassesA, s.ClassesB, s.Trigger, s.Target, forgetSize, valSize, options, seed, status, progress);
        return (s, result);
    }

    /// <summary>
    /// Backdoors the pre-trained model on dataset A (a class subset) and on dataset B (the other classes, sharing the
    /// target), estimates τ_A on A, and applies it to B's backdoored model: at A's α, and at an α chosen on B's validation.
    /// B's own TBAR is the reference. All test metrics are on B's test split.
    /// </summary>
    public static TransferResult Transfer(string pretrained, DataSplits full, string[] classesA, string[] classesB, string triggerSpec, string target,
        int forgetSize, int valSize, TbarOptions options, long seed, Action<string>? status = null, IProgress<TrainProgress>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        if (!classesA.Contains(target) || !classesB.Contains(target)) throw new TbarException($"the target '{target}' must be among both class lists");
        DataSplits Subset(string[] classes, string name)
        {
            var (train, pool) = full.Train.ClassSubset(classes, full.TrainIndices, $"fashion-mnist {name}");
            var (test, _) = full.Test.ClassSubset(classes, full.Test.AllIndices(), $"fashion-mnist {name} test");
            return new DataSplits(train, pool, test, name);
        }
        using var a = Subset(classesA, "A");
        using var b = Subset(classesB, "B");
        var trigger = Triggers.Parse(triggerSpec);
        var recipe = BackdoorAttack.DefaultTrain(AttackMode.Supervised) with { Seed = seed };
        ClipTokenizer? tokenizer = null;
        BackdooredSubset Backdoor(DataSplits d)
        {
            status?.Invoke($"backdoor on {d.Spec}");
            var model = ClipCheckpoint.Load(pretrained);
            tokenizer ??= Tokenizers.For(model, null);
            var attack = BackdoorAttack.Run(model, tokenizer, d.Train, d.TrainIndices, d.Test,
                new AttackOptions(triggerSpec, target, Defaults.PoisonRate, AttackMode.Supervised, recipe, seed), null, progress);
            var task = UnlearnTask.FromPool(d.Train, attack.Poisoned.CleanPool(d.TrainIndices), trigger, attack.Target, forgetSize, valSize, seed);
            return new BackdooredSubset(model, ZeroShotHead.ForClasses(model, tokenizer, d.Train.ClassNames), attack, task);
        }

        using var backdooredA = Backdoor(a);
        status?.Invoke("TBAR on A");
        var resultA = TbarMethod.Run(backdooredA.Model, backdooredA.Head, backdooredA.Task, options);
        using var tauA = resultA.Tau!;

        using var backdooredB = Backdoor(b);
        var (modelB, headB, attackB, taskB) = backdooredB;
        AttackMetrics Test() => Metrics.Evaluate(modelB, headB, b.Test, b.Test.AllIndices(), trigger, attackB.Target);
        var rows = new List<TransferRow> { new("backdoored on B", null, attackB.Test, "no cleaning") };
        using (var edit = new WeightEdit(modelB, tauA))
        {
            edit.Set(-resultA.Alpha!.Alpha);
            rows.Add(new("B − α_A·τ_A", resultA.Alpha.Alpha, Test(), "A's vector at the α chosen on A's validation"));
            status?.Invoke("α for τ_A on B's validation");
            edit.Restore();
            var choice = Negation.Choose(modelB, headB, taskB, tauA, options.Rule);
            Negation.Apply(modelB, tauA, choice.Alpha);
            rows.Add(new("B − α·τ_A (α on B's validation)", choice.Alpha, Test(), choice.Reason));
            edit.Restore();
        }
        status?.Invoke("TBAR on B (reference)");
        var resultB = TbarMethod.Run(modelB, headB, taskB, options);
        using var tauB = resultB.Tau!;
        rows.Add(new("B − α_B·τ_B (own TBAR)", resultB.Alpha!.Alpha, Test(), resultB.Choice));
        double cosine = VectorMaths.Cosine(tauA, tauB);
        return new TransferResult(rows, cosine, classesA, classesB, clock.Elapsed.TotalSeconds);
    }

    /// <summary>A model backdoored on one class subset, its zero-shot head, the attack, and the unlearning task on the rest of its pool.</summary>
    sealed record BackdooredSubset(Clip Model, ZeroShotHead Head, AttackOutcome Attack, UnlearnTask Task) : IDisposable
    {
        public void Dispose()
        {
            Head.Dispose();
            Model.Dispose();
        }
    }
}
