using Tbar.Attacks;
using Tbar.Data;
using Tbar.Models;
using static TorchSharp.torch;

namespace Tbar.Evaluation;

/// <summary>A share with its counts.</summary>
public sealed record Rate(long Hits, long Total)
{
    /// <summary>Hits / Total (NaN when Total is 0).</summary>
    public double Value => Total == 0 ? double.NaN : (double)Hits / Total;
    public override string ToString() => $"{Value:P2} ({Hits}/{Total})";
}

/// <summary>
/// CA = share of clean images classified correctly. ASR = share of triggered images whose true class is not the target
/// that are classified as the target. BD-ACC = share of those same triggered images classified as their true class.
/// </summary>
/// <param name="CleanAccuracy">CA with counts.</param>
/// <param name="AttackSuccess">ASR with counts (null without a trigger).</param>
/// <param name="BackdoorAccuracy">BD-ACC with counts (null without a trigger).</param>
/// <param name="PerClass">Clean accuracy of each class, in class order (null when not counted).</param>
public sealed record AttackMetrics(Rate CleanAccuracy, Rate? AttackSuccess, Rate? BackdoorAccuracy, IReadOnlyList<Rate>? PerClass = null)
{
    /// <summary>Clean accuracy on the target class alone.</summary>
    public Rate? TargetClass(int target) => PerClass == null || target < 0 || target >= PerClass.Count ? null : PerClass[target];

    /// <summary>Clean accuracy on every class but the target, pooled.</summary>
    public Rate? OtherClasses(int target) => PerClass == null ? null
        : new Rate(PerClass.Where((_, c) => c != target).Sum(r => r.Hits), PerClass.Where((_, c) => c != target).Sum(r => r.Total));
}

/// <summary>Batched zero-shot evaluation of clean and triggered accuracy.</summary>
public static class Metrics
{
    /// <summary>Predicted class per index, optionally with a trigger applied before normalisation.</summary>
    public static long[] Predict(Clip model, ZeroShotHead head, ImageDataset data, long[] indices, ITrigger? trigger = null, int batchSize = 256)
    {
        using var guard = no_grad();
        model.eval();
        var config = model.Config.Preprocess;
        using var cached = InputCache.Shared.Find(data, trigger, config, indices, batchSize);
        bool keep = cached == null && InputCache.Shared.Fits(indices.Length, config);
        var inputs = new List<Tensor>();
        var predictions = new long[indices.Length];
        for (int start = 0, b = 0; start < indices.Length; start += batchSize, b++)
        {
            using var scope = NewDisposeScope();
            var batch = indices.AsSpan(start, Math.Min(batchSize, indices.Length - start)).ToArray();
            var normalised = cached?.Batches[b] ?? Inputs(data, batch, trigger, config);
            if (keep) inputs.Add(normalised.DetachFromDisposeScope());
            var blocks = Shards.Map(batch.Length, (first, length) => Classify(model, head, normalised, first, length));
            blocks.SelectMany(p => p).ToArray().CopyTo(predictions.AsSpan(start, batch.Length));
        }
        if (keep && !InputCache.Shared.Keep(data, trigger, config, indices, batchSize, [.. inputs]))
            foreach (var t in inputs) t.Dispose();
        return predictions;
    }

    /// <summary>Normalised (B, 3, S, S) model inputs of <paramref name="batch"/>, with the trigger applied first when given.</summary>
    public static Tensor Inputs(ImageDataset data, long[] batch, ITrigger? trigger, PreprocessConfig config)
    {
        var images = data.Images(batch);
        if (trigger != null) images = trigger.Apply(images, batch);
        return Preprocess.Apply(images, config);
    }

    /// <summary>
    /// Predicted class of rows first..first+length−1 of a (B, 3, S, S) normalised batch; sets its own no-grad mode and scope
    /// (it may run on a worker thread). The rows are cut inside the scope: a view made on a worker outside any scope would
    /// keep the whole batch's storage (150 MB at 224 px) alive until the garbage collector finalised it, one per batch.
    /// </summary>
    static long[] Classify(Clip model, ZeroShotHead head, Tensor normalised, long first, long length)
    {
        using var guard = no_grad();
        using var scope = NewDisposeScope();
        return head.Logits(model.EncodeImage(normalised.narrow(0, first, length))).argmax(1).cpu().data<long>().ToArray();
    }

    /// <summary>CA on <paramref name="indices"/>; with a trigger, also ASR and BD-ACC on the non-target images among them.</summary>
    public static AttackMetrics Evaluate(Clip model, ZeroShotHead head, ImageDataset data, long[] indices, ITrigger? trigger = null,
        int target = -1, int batchSize = 256)
    {
        var clean = Predict(model, head, data, indices, null, batchSize);
        if (trigger == null) return Score(data.Labels, indices, clean, -1, null);
        CheckTarget(data, target);
        var triggered = Predict(model, head, data, Victims(data.Labels, indices, target), trigger, batchSize);
        return Score(data.Labels, indices, clean, target, triggered);
    }

    /// <summary>ASR alone (the triggered non-target images classified as the target), without the clean pass of <see cref="Evaluate"/>.</summary>
    public static Rate AttackSuccess(Clip model, ZeroShotHead head, ImageDataset data, long[] indices, ITrigger trigger, int target,
        int batchSize = 256)
    {
        CheckTarget(data, target);
        var victims = Victims(data.Labels, indices, target);
        var triggered = Predict(model, head, data, victims, trigger, batchSize);
        return new Rate(triggered.LongCount(p => p == target), victims.Length);
    }

    static void CheckTarget(ImageDataset data, int target)
    {
        if (target < 0 || target >= data.ClassNames.Count) throw new TbarException($"target class {target} is outside 0..{data.ClassNames.Count - 1}");
    }

    /// <summary>The images ASR is measured on: those whose true class is not the target.</summary>
    public static long[] Victims(long[] labels, long[] indices, int target) => indices.Where(i => labels[i] != target).ToArray();

    /// <summary>
    /// Counts from predictions: <paramref name="clean"/> per index; <paramref name="triggered"/> per victim
    /// (<see cref="Victims"/> order), or null when no trigger was evaluated.
    /// </summary>
    public static AttackMetrics Score(long[] labels, long[] indices, long[] clean, int target, long[]? triggered)
    {
        var ca = new Rate(indices.Where((idx, i) => clean[i] == labels[idx]).LongCount(), indices.Length);
        var perClass = PerClass(labels, indices, clean);
        if (triggered == null) return new AttackMetrics(ca, null, null, perClass);
        var victims = Victims(labels, indices, target);
        var asr = new Rate(triggered.LongCount(p => p == target), victims.Length);
        var bd = new Rate(victims.Where((idx, i) => triggered[i] == labels[idx]).LongCount(), victims.Length);
        return new AttackMetrics(ca, asr, bd, perClass);
    }

    /// <summary>Clean accuracy per class (classes 0..max label seen), counted from predictions.</summary>
    public static IReadOnlyList<Rate> PerClass(long[] labels, long[] indices, long[] clean)
    {
        int classes = indices.Length == 0 ? 0 : (int)indices.Max(i => labels[i]) + 1;
        var hits = new long[classes];
        var totals = new long[classes];
        for (int i = 0; i < indices.Length; i++)
        {
            long label = labels[indices[i]];
            if (label < 0) continue;
            totals[label]++;
            if (clean[i] == label) hits[label]++;
        }
        return Enumerable.Range(0, classes).Select(c => new Rate(hits[c], totals[c])).ToArray();
    }
}
