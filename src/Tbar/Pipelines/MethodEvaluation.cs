using System.Diagnostics;
using Tbar.Attacks;
using Tbar.Data;
using Tbar.Evaluation;
using Tbar.Models;
using Tbar.Training;
using Tbar.Unlearning;
using static TorchSharp.torch;

namespace Tbar.Pipelines;

/// <summary>
/// The one "restore θ_b, run a method, evaluate it once on the test split" step that the demo, the agnostic pipeline and
/// the forget-size ablation share: the test split is touched only here, after the method has made every choice on validation.
/// </summary>
public static class MethodEvaluation
{
    /// <summary>
    /// Runs <paramref name="method"/> from <paramref name="start"/> (θ_b's image-tower weights) and evaluates it as
    /// <paramref name="rowName"/> with the real <paramref name="trigger"/> and <paramref name="target"/>; with
    /// <paramref name="relapse"/>, methods that chose an α also get their relapse ASR.
    /// </summary>
    public static (TestRow Row, UnlearnResult Record) Run(string method, string rowName, Clip model, ZeroShotHead head, UnlearnTask task,
        Dictionary<string, Tensor> start, DataSplits data, ITrigger trigger, int target, MethodOptions options, bool relapse,
        IProgress<TrainProgress>? progress = null)
    {
        VisualWeights.Restore(model, start);
        var clock = Stopwatch.StartNew();
        var record = Methods.Run(method, model, head, task, options, progress);
        double seconds = clock.Elapsed.TotalSeconds;
        var test = Metrics.Evaluate(model, head, data.Test, data.Test.AllIndices(), trigger, target);
        double? relapseAsr = relapse && record.Alpha != null ? Relapse(model, head, task, data, trigger, target) : null;
        return (new TestRow(rowName, test, record.Alpha?.Alpha, seconds, record.Choice, relapseAsr), record);
    }

    /// <summary>Robustness check: test ASR after a short clean fine-tune (<see cref="RelapseCheck"/>); weights restored after.</summary>
    public static double Relapse(Clip model, ZeroShotHead head, UnlearnTask task, DataSplits data, ITrigger trigger, int target) =>
        AfterFineTune(model, head, data, trigger, target, task.CleanBudget.Length, p => task.CleanBatch(p, model.Config.Preprocess),
            Defaults.Relapse);

    /// <summary>
    /// Re-tuning attack: test ASR after fine-tuning on <paramref name="k"/> poisoned samples (the first k forget images, triggered
    /// and labelled with the target) mixed with the first <paramref name="clean"/> images of the clean budget, 5 epochs at
    /// batch 32, LR 1e-4 (a fixed recipe, the same for every model); weights restored after.
    /// </summary>
    public static double Retune(Clip model, ZeroShotHead head, UnlearnTask task, DataSplits data, ITrigger trigger, int target, int k, int clean)
    {
        int n = task.Forget.Indices.Length;
        if (k < 1 || k > n) throw new TbarException($"re-tuning needs 1..{n} poisoned samples (got {k})");
        clean = Math.Min(clean, task.CleanBudget.Length);
        return AfterRetune(model, head, task, k, clean, p => task.CleanBatch(p, model.Config.Preprocess),
            () => Metrics.AttackSuccess(model, head, data.Test, data.Test.AllIndices(), trigger, target).Value);
    }

    /// <summary>
    /// <paramref name="measure"/> after the re-tuning attack's fine-tune (<see cref="Defaults.Retune"/>): the first
    /// <paramref name="k"/> forget images, triggered and labelled with the target, then <paramref name="clean"/> images from
    /// <paramref name="cleanBatch"/>; the weights are restored after.
    /// </summary>
    public static T AfterRetune<T>(Clip model, ZeroShotHead head, UnlearnTask task, int k, int clean,
        Func<long[], (Tensor Images, Tensor Labels)> cleanBatch, Func<T> measure) =>
        AfterFineTune(model, head, k + clean, positions => MixedBatch.Of(positions, k, p => task.ForgetBatch(p, model.Config.Preprocess), cleanBatch),
            Defaults.Retune.Recipe, measure);

    /// <summary>Test ASR after a fine-tune of the image tower; the weights are restored after.</summary>
    static double AfterFineTune(Clip model, ZeroShotHead head, DataSplits data, ITrigger trigger, int target, int count,
        Func<long[], (Tensor Images, Tensor Labels)> batch, TrainOptions recipe) =>
        AfterFineTune(model, head, count, batch, recipe, () => Metrics.AttackSuccess(model, head, data.Test, data.Test.AllIndices(), trigger,
            target).Value);

    /// <summary><paramref name="measure"/> of the model after a fine-tune of its image tower; the weights are restored after.</summary>
    public static T AfterFineTune<T>(Clip model, ZeroShotHead head, int count, Func<long[], (Tensor Images, Tensor Labels)> batch,
        TrainOptions recipe, Func<T> measure)
    {
        var saved = VisualWeights.Snapshot(model);
        FineTune.Train(model, head, count, batch, recipe);
        var result = measure();
        VisualWeights.Restore(model, saved);
        VisualWeights.Dispose([saved]);
        return result;
    }
}
