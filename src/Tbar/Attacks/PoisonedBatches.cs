using Tbar.Data;
using Tbar.Models;
using static TorchSharp.torch;

namespace Tbar.Attacks;

/// <summary>One planted backdoor: its trigger, the training indices that carry it, and its target class.</summary>
public sealed record Backdoor(ITrigger Trigger, HashSet<long> Poisoned, int Target);

/// <summary>
/// Builds training batches from positions into an index list: each backdoor's poisoned examples get its trigger and its
/// target label (the poisoned sets must be disjoint), WaNet in noise mode also jitters twice as many clean examples
/// (keeping their labels), as that attack prescribes.
/// </summary>
sealed class PoisonedBatches(ImageDataset data, long[] indices, IReadOnlyList<Backdoor> backdoors, PreprocessConfig preprocess)
{
    readonly Generator noise = new(12345);
    readonly HashSet<long> poisoned = backdoors.SelectMany(b => b.Poisoned).ToHashSet();

    /// <summary>One backdoor (none when <paramref name="trigger"/> is null: clean batches).</summary>
    public PoisonedBatches(ImageDataset data, long[] indices, ITrigger? trigger, HashSet<long> poisoned, int target, PreprocessConfig preprocess)
        : this(data, indices, trigger == null ? [] : [new Backdoor(trigger, poisoned, target)], preprocess) { }

    /// <summary>Normalised images (B, 3, H, W) and int64 labels (B) for positions into the index list.</summary>
    public (Tensor Images, Tensor Labels) Labelled(long[] positions)
    {
        var ids = positions.Select(p => indices[p]).ToArray();
        var images = data.Images(ids);
        var labels = ids.Select(i => data.Labels[i]).ToArray();
        foreach (var b in backdoors)
        {
            var rows = Enumerable.Range(0, ids.Length).Where(r => b.Poisoned.Contains(ids[r])).Select(r => (long)r).ToArray();
            if (rows.Length == 0) continue;
            using var rowIndex = tensor(rows);
            using var triggered = b.Trigger.Apply(images.index_select(0, rowIndex), rows.Select(r => ids[r]).ToArray());
            images.index_copy_(0, rowIndex, triggered);
            foreach (var r in rows) labels[r] = b.Target;
        }
        foreach (var b in backdoors)
            if (b.Trigger is WaNet { NoiseMode: true } wanet) AddNoiseSamples(wanet, images, ids);
        return (Preprocess.Apply(images, preprocess), tensor(labels));
    }

    // Noise-mode samples: images whose hash falls in a band twice the poison share, not themselves poisoned.
    void AddNoiseSamples(WaNet wanet, Tensor images, long[] ids)
    {
        double share = 2.0 * poisoned.Count / Math.Max(1, indices.Length);
        var rows = Enumerable.Range(0, ids.Length)
            .Where(r => !poisoned.Contains(ids[r]) && (ids[r] * 2654435761L % 1000) / 1000.0 < share).Select(r => (long)r).ToArray();
        if (rows.Length == 0) return;
        using var rowIndex = tensor(rows);
        using var jittered = wanet.ApplyNoise(images.index_select(0, rowIndex), noise);
        images.index_copy_(0, rowIndex, jittered);
    }
}
