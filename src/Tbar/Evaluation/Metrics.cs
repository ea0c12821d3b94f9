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
public sealed record AttackMetrics(Rate CleanAccuracy, Rate? AttackSuccess, Rate? BackdoorAccuracy);

/// <summary>Batched zero-shot evaluation of clean and triggered accuracy.</summary>
public static class Metrics
{
    /// <summary>Predicted class per index, optionally with a trigger applied before normalisation.</summary>
    public static long[] Predict(Clip model, ZeroShotHead head, ImageDataset data, long[] indices, ITrigger? trigger = null, int batchSize = 256)
    {
        using var guard = no_grad();
        model.eval();
        var predictions = new long[indices.Length];
        for (int start = 0; start < indices.Length; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var batch = indices.AsSpan(start, Math.Min(batchSize, indices.Length - start)).ToArray();
            var images = data.Images(batch);
            if (trigger != null) images = trigger.Apply(images, batch);
            var logits = head.Logits(model.EncodeImage(Preprocess.Apply(images, model.Config.Preprocess)));
            logits.argmax(1).data<long>().CopyTo(predictions.AsSpan(start, batch.Length));
        }
        return predictions;
    }

    /// <summary>CA on <paramref name="indices"/>; with a trigger, also ASR and BD-ACC on the non-target images among them.</summary>
    public static AttackMetrics Evaluate(Clip model, ZeroShotHead head, ImageDataset data, long[] indices, ITrigger? trigger = null,
        int target = -1, int batchSize = 256)
    {
        var clean = Predict(model, head, data, indices, null, batchSize);
        if (trigger == null) return Score(data.Labels, indices, clean, -1, null);
        if (target < 0 || target >= data.ClassNames.Count) throw new TbarException($"target class {target} is outside 0..{data.ClassNames.Count - 1}");
        var triggered = Predict(model, head, data, Victims(data.Labels, indices, target), trigger, batchSize);
        return Score(data.Labels, indices, clean, target, triggered);
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
        if (triggered == null) return new AttackMetrics(ca, null, null);
        var victims = Victims(labels, indices, target);
        var asr = new Rate(triggered.LongCount(p => p == target), victims.Length);
        var bd = new Rate(victims.Where((idx, i) => triggered[i] == labels[idx]).LongCount(), victims.Length);
        return new AttackMetrics(ca, asr, bd);
    }
}
