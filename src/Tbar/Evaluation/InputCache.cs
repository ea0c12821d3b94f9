using Tbar.Attacks;
using Tbar.Data;
using Tbar.Models;
using static TorchSharp.torch;

namespace Tbar.Evaluation;

/// <summary>
/// The normalised (and triggered) inputs of evaluation sets that are classified again and again: an α sweep evaluates the
/// same validation images at every α, and a demo evaluates the same test images for every row. Decoding, triggering and
/// normalising them ran on the calling thread before each forward pass while the other cores waited. Kept per (dataset,
/// trigger, preprocessing, indices, batch size), as the batches <see cref="Metrics.Predict"/> cuts, so predictions are the
/// same bits as without the cache. Small sets only (≤ <see cref="EntryBytes"/> each, ≤ <see cref="Budget"/> in all, the
/// least recently used dropped first): a 224 px validation set is recomputed as before rather than held in memory.
/// </summary>
static class InputCache
{
    /// <summary>Largest set kept, in bytes of float inputs.</summary>
    public const long EntryBytes = 160L << 20;

    /// <summary>All sets kept together, in bytes.</summary>
    public const long Budget = 384L << 20;

    sealed record Entry(ImageDataset Data, ITrigger? Trigger, PreprocessConfig Config, long[] Indices, int BatchSize, Tensor[] Batches, long Bytes);

    static readonly object gate = new();
    static readonly LinkedList<Entry> entries = new();
    static long held;

    /// <summary>Bytes the inputs of <paramref name="count"/> images take under <paramref name="config"/>.</summary>
    public static long BytesOf(long count, PreprocessConfig config) => count * 3L * config.ImageSize * config.ImageSize * sizeof(float);

    /// <summary>The cached batches of this set, or null.</summary>
    public static Tensor[]? Find(ImageDataset data, ITrigger? trigger, PreprocessConfig config, long[] indices, int batchSize)
    {
        lock (gate)
        {
            for (var node = entries.First; node != null; node = node.Next)
            {
                var e = node.Value;
                if (!ReferenceEquals(e.Data, data) || !ReferenceEquals(e.Trigger, trigger) || e.BatchSize != batchSize
                    || !Same(e.Config, config) || !e.Indices.AsSpan().SequenceEqual(indices)) continue;
                entries.Remove(node);
                entries.AddFirst(node);
                return e.Batches;
            }
            return null;
        }
    }

    /// <summary>Keeps <paramref name="batches"/> (now owned by the cache) when the set is small enough; false when not kept.</summary>
    public static bool Keep(ImageDataset data, ITrigger? trigger, PreprocessConfig config, long[] indices, int batchSize, Tensor[] batches)
    {
        long bytes = BytesOf(indices.Length, config);
        if (bytes > EntryBytes) return false;
        lock (gate)
        {
            // Dropped entries are not disposed: a caller may still be reading them; the finaliser frees them.
            while (held + bytes > Budget && entries.Last is { } last)
            {
                held -= last.Value.Bytes;
                entries.RemoveLast();
            }
            entries.AddFirst(new Entry(data, trigger, config, (long[])indices.Clone(), batchSize, batches, bytes));
            held += bytes;
            return true;
        }
    }

    static bool Same(PreprocessConfig a, PreprocessConfig b) =>
        a.ImageSize == b.ImageSize && a.Mean.AsSpan().SequenceEqual(b.Mean) && a.Std.AsSpan().SequenceEqual(b.Std);
}
