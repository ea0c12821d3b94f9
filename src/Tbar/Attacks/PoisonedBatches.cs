using Tbar.Data;
using Tbar.Models;
using static TorchSharp.torch;

namespace Tbar.Attacks;

/// <summary>
/// Builds training batches from positions into an index list: poisoned examples get the trigger and the target label,
/// WaNet in noise mode also jitters twice as many clean examples (keeping their labels), as that attack prescribes.
/// </summary>
sealed class PoisonedBatches(ImageDataset data, long[] indices, ITrigger? trigger, HashSet<long> poisoned, int target, PreprocessConfig preprocess)
{
    readonly Generator noise = new(12345);

    /// <summary>Normalised images (B, 3, H, W) and int64 labels (B) for positions into the index list.</summary>
    public (Tensor Images, Tensor Labels) Labelled(long[] positions)
    {
        var ids = positions.Select(p => indices[p]).ToArray();
        var images = data.Images(ids);
        var labels = ids.Select(i => data.Labels[i]).ToArray();
        var rows = Enumerable.Range(0, ids.Length).Where(r => poisoned.Contains(ids[r])).Select(r => (long)r).ToArray();
        if (trigger != null && rows.Length > 0)
        {
            using var rowIndex = tensor(rows);
            using var triggered = trigger.Apply(images.index_select(0, rowIndex), rows.Select(r => ids[r]).ToArray());
            images.index_copy_(0, rowIndex, triggered);
            foreach (var r in rows) labels[r] = target;
        }
        if (trigger is WaNet { NoiseMode: true } wanet) AddNoiseSamples(wanet, images, ids);
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
