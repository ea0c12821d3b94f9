using Tbar.Arithmetic;
using Tbar.Attacks;
using Tbar.Data;
using Tbar.Evaluation;
using Tbar.Models;

namespace Tbar.Analysis;

/// <summary>ξ at one grid point, with its two terms.</summary>
/// <param name="AlphaClean">α_c, the clean vector's coefficient.</param>
/// <param name="AlphaTrigger">α_t, the trigger vector's coefficient.</param>
/// <param name="CleanTerm">Share of clean images where f(θ_pre + α_c τ_c + α_t τ_t) and f(θ_pre + α_c τ_c) disagree.</param>
/// <param name="TriggerTerm">Share of triggered images where f(θ_pre + α_c τ_c + α_t τ_t) and f(θ_pre + α_t τ_t) disagree.</param>
public sealed record XiPoint(double AlphaClean, double AlphaTrigger, double CleanTerm, double TriggerTerm)
{
    /// <summary>ξ = the mean of the two terms.</summary>
    public double Xi => (CleanTerm + TriggerTerm) / 2;
}

/// <summary>The ξ grid (row-major: α_t outer, α_c inner) and the axes.</summary>
public sealed record XiGrid(double[] AlphasClean, double[] AlphasTrigger, IReadOnlyList<XiPoint> Points, int CleanImages, int TriggeredImages, double Seconds)
{
    public XiPoint At(int cleanIndex, int triggerIndex) => Points[triggerIndex * AlphasClean.Length + cleanIndex];
}

/// <summary>
/// Weight disentanglement error: how far the effects of the clean vector and the trigger vector interfere when added.
/// All models are made in place on one loaded θ_pre (<see cref="WeightEdit"/>); predictions of the single-vector models
/// are computed once per α and reused.
/// </summary>
public static class Disentanglement
{
    /// <summary>Evenly spaced values from −<paramref name="range"/> to <paramref name="range"/> (<paramref name="count"/> ≥ 2).</summary>
    public static double[] Axis(double range, int count)
    {
        if (count < 2 || !(range > 0)) throw new TbarException($"grid needs ≥ 2 points and a range > 0 (got {count}, {range})");
        return Enumerable.Range(0, count).Select(i => Math.Round(-range + 2 * range * i / (count - 1), 10)).ToArray();
    }

    /// <summary>
    /// ξ over a square grid α_c, α_t ∈ [−range, range] for an unlearn run's τ_c and τ_t, on up to <paramref name="images"/>
    /// clean test images and as many triggered non-target ones (each drawn from its own fixed seed).
    /// </summary>
    public static XiGrid OnTestSplit(RunVectors vectors, DataSplits splits, int images, double range, int grid,
        IProgress<TrainProgress>? progress = null)
    {
        if (images < 1) throw new TbarException("--images must be ≥ 1");
        var (run, pre) = (vectors.Run, vectors.Pretrained);
        int target = splits.Test.ClassIndex(run.Target);
        var all = splits.Test.AllIndices();
        var cleanIdx = Splits.Take(all, 11, Math.Min(images, all.Length))[0];
        var victims = Metrics.Victims(splits.Test.Labels, all, target);
        var trigIdx = Splits.Take(victims, 12, Math.Min(images, victims.Length))[0];
        using var head = ZeroShotHead.ForClasses(pre, Tokenizers.For(pre, null), splits.Test.ClassNames);
        var axis = Axis(range, grid);
        var trigger = Triggers.Parse(run.TriggerSpec);
        return Compute(pre, vectors.Clean, vectors.Trigger, head, splits.Test, cleanIdx, trigIdx, trigger, axis, axis, progress);
    }

    public static XiGrid Compute(Clip pretrained, TaskVector clean, TaskVector trigger, ZeroShotHead head, ImageDataset data, long[] cleanIndices,
        long[] triggeredIndices, ITrigger triggerTransform, double[] alphasClean, double[] alphasTrigger, IProgress<TrainProgress>? progress = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var edit = new WeightEdit(pretrained, clean, trigger);
        long[] Clean(double ac, double at) { edit.Set(ac, at); return Metrics.Predict(pretrained, head, data, cleanIndices); }
        long[] Triggered(double ac, double at) { edit.Set(ac, at); return Metrics.Predict(pretrained, head, data, triggeredIndices, triggerTransform); }
        int total = alphasClean.Length + alphasTrigger.Length + alphasClean.Length * alphasTrigger.Length, done = 0;
        void Step() => progress?.Report(new TrainProgress(++done, total, 0, 0));
        var cleanOnly = alphasClean.ToDictionary(a => a, a => { var p = Clean(a, 0); Step(); return p; });
        var triggerOnly = alphasTrigger.ToDictionary(a => a, a => { var p = Triggered(0, a); Step(); return p; });
        var points = new List<XiPoint>();
        foreach (double at in alphasTrigger)
            foreach (double ac in alphasClean)
            {
                var both = Clean(ac, at);
                var bothTriggered = Triggered(ac, at);
                points.Add(new XiPoint(ac, at, Disagreement(both, cleanOnly[ac]), Disagreement(bothTriggered, triggerOnly[at])));
                Step();
            }
        edit.Restore();
        return new XiGrid(alphasClean, alphasTrigger, points, cleanIndices.Length, triggeredIndices.Length, clock.Elapsed.TotalSeconds);
    }

    static double Disagreement(long[] a, long[] b) => a.Length == 0 ? 0 : (double)a.Zip(b).Count(p => p.First != p.Second) / a.Length;
}
