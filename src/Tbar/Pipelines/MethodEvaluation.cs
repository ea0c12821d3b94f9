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
/// The one "restore θ_b, run a method, evaluate it once on the test split" step that the demo and the agnostic pipeline
/// share: the test split is touched only here, after the method has made every choice on validation.
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

    /// <summary>Robustness check: test ASR after a short clean fine-tune (1 epoch, the clean budget, LR 1e-4); weights restored after.</summary>
    public static double Relapse(Clip model, ZeroShotHead head, UnlearnTask task, DataSplits data, ITrigger trigger, int target)
    {
        var cleaned = VisualWeights.Snapshot(model);
        FineTune.Train(model, head, task.CleanBudget.Length, p => task.CleanBatch(p, model.Config.Preprocess), new TrainOptions(1, 64, 1e-4, 0.1));
        var asr = Metrics.AttackSuccess(model, head, data.Test, data.Test.AllIndices(), trigger, target).Value;
        VisualWeights.Restore(model, cleaned);
        VisualWeights.Dispose([cleaned]);
        return asr;
    }
}
