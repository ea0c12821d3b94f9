using Tbar.Arithmetic;
using Tbar.Evaluation;
using Tbar.Models;
using Tbar.Unlearning;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Tbar.Analysis;

/// <summary>One point of the straight path θ_b + t·(θ_out − θ_b): validation clean loss, CA, ASR and target-class CA.</summary>
public sealed record PathPoint(double T, double CleanLoss, AlphaPoint Validation);

/// <summary>
/// Where a method's output sits relative to the backdoored model ("From Dormant to Deleted", arXiv 2505.22310: distance and
/// linear mode connectivity predict what comes back).
/// </summary>
/// <param name="Distance">‖θ_out − θ_b‖ over the image tower.</param>
/// <param name="TauCosine">cos(θ_out − θ_b, τ) when the method made a τ (negation gives −1 on τ's parameters).</param>
/// <param name="Barrier">max over t of L(θ_t) − ((1 − t)·L(θ_b) + t·L(θ_out)), the clean-loss barrier of the straight path.</param>
/// <param name="Points">The path's points, t = 0 (θ_b) … 1 (θ_out).</param>
public sealed record PathResult(double Distance, double? TauCosine, double Barrier, IReadOnlyList<PathPoint> Points);

/// <summary>The straight path from θ_b to a method's output, on the task's validation split.</summary>
public static class PathAnalysis
{
    /// <summary>
    /// Measures the path from <paramref name="start"/> (θ_b's image-tower weights) to the model's current weights θ_out, at
    /// <paramref name="points"/> evenly spaced t; the end points are the two models' own weights, bit for bit. The model is at
    /// θ_out again afterwards.
    /// </summary>
    public static PathResult Run(Clip model, ZeroShotHead head, UnlearnTask task, Dictionary<string, Tensor> start, TaskVector? tau, int points = 11)
    {
        if (points < 2) throw new TbarException($"a path needs at least 2 points (got {points})");
        var end = VisualWeights.Snapshot(model);
        using var change = TaskVector.Between(start, end, end.Keys);
        double distance = change.Norm();
        double? cosine = tau == null || distance == 0 ? null : VectorMaths.Cosine(change, OnKeys(tau, change));
        var result = new List<PathPoint>();
        for (int i = 0; i < points; i++)
        {
            double t = (double)i / (points - 1);
            VisualWeights.Restore(model, i == points - 1 ? end : start);
            if (i > 0 && i < points - 1)
                using (var edit = new WeightEdit(model, change)) edit.Set(t);
            result.Add(new PathPoint(t, CleanLoss(model, head, task), task.Point(model, head, t)));
        }
        VisualWeights.Restore(model, end);
        VisualWeights.Dispose([end]);
        double l0 = result[0].CleanLoss, l1 = result[^1].CleanLoss;
        double barrier = result.Max(p => p.CleanLoss - ((1 - p.T) * l0 + p.T * l1));
        return new PathResult(distance, cosine, barrier, result);
    }

    /// <summary>
    /// The path of a <c>tbar unlearn --forget trigger:SPEC</c> output folder (any method): its backdoored model, its own weights,
    /// its τ when it saved one, and the validation split it drew (same data spec, sizes and seed).
    /// </summary>
    public static PathResult Run(string unlearnedDir, int points = 11)
    {
        var record = UnlearnRecord.Load(unlearnedDir);
        string forget = record.Options.Forget;
        if (!forget.StartsWith("trigger:"))
            throw new TbarException($"{System.IO.Path.Combine(unlearnedDir, UnlearnRecord.FileName)}: the path needs a run with " +
                $"--forget trigger:SPEC (got {forget})");
        using var model = ClipCheckpoint.Load(record.Options.Model);
        using var cleaned = ClipCheckpoint.Load(unlearnedDir);
        using var data = Data.DataSpec.Load(record.Options.Val, model.Config.Vision.ImageSize);
        using var head = ZeroShotHead.ForClasses(model, Tokenizers.For(model, null), data.Train.ClassNames);
        var trigger = Attacks.Triggers.Parse(forget["trigger:".Length..]);
        var task = UnlearnTask.FromPool(data.Train, data.TrainIndices, trigger, data.Train.ClassIndex(record.Options.Target),
            record.Options.ForgetSize, record.Options.ValSize, record.Seed);
        string tauPath = System.IO.Path.Combine(unlearnedDir, UnlearnRecord.TauFileName);
        using var tau = File.Exists(tauPath) ? TaskVector.Load(tauPath) : null;
        var start = VisualWeights.Snapshot(model);
        VisualWeights.Restore(model, VisualWeights.Snapshot(cleaned));
        var result = Run(model, head, task, start, tau, points);
        VisualWeights.Dispose([start]);
        return result;
    }

    /// <summary>τ restricted to (and completed with zeros on) the keys of <paramref name="like"/>.</summary>
    static TaskVector OnKeys(TaskVector tau, TaskVector like) =>
        new(like.Keys.ToDictionary(k => k, k => tau.Keys.Contains(k) ? tau[k] : zeros_like(like[k])));

    /// <summary>Mean cross-entropy of the zero-shot head on the clean validation images.</summary>
    public static double CleanLoss(Clip model, ZeroShotHead head, UnlearnTask task)
    {
        using var guard = no_grad();
        model.eval();
        double sum = 0;
        var ids = task.ValClean;
        for (int s = 0; s < ids.Length; s += 256)
        {
            using var scope = NewDisposeScope();
            var batch = ids.Skip(s).Take(256).ToArray();
            var x = Metrics.Inputs(task.ValData, batch, null, model.Config.Preprocess);
            var logits = head.Logits(model.EncodeImage(x));
            sum += F.cross_entropy(logits, task.ValData.LabelTensor(batch), reduction: nn.Reduction.Sum).item<float>();
        }
        return sum / ids.Length;
    }
}
