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
sealed class InputCache
{
    /// <summary>Largest set kept, in bytes of float inputs.</summary>
    public const long EntryBytes = 160L << 20;

    /// <summary>All sets kept together, in bytes.</summary>
    public const long Budget = 384L << 20;

    /// <summary>The process's cache, the one <see cref="Metrics.Predict"/> uses.</summary>
    public static readonly InputCache Shared = new(EntryBytes, Budget);

    readonly long entryBytes, budget;
    readonly object gate = new();
    readonly LinkedList<Entry> entries = new();
    long held;

    public InputCache(long entryBytes, long budget) => (this.entryBytes, this.budget) = (entryBytes, budget);

    // Readers and Dropped are guarded by the cache's lock. An entry's tensors are disposed once it has been dropped and no
    // lease reads it any more: at the drop when none does, else when the last lease ends (never left to the finaliser,
    // which a collection of a nearly empty managed heap runs rarely: a 224 px run held 300 MB of dropped inputs that way).
    internal sealed record Entry(ImageDataset Data, ITrigger? Trigger, PreprocessConfig Config, long[] Indices, int BatchSize, Tensor[] Batches,
        long Bytes)
    {
        public int Readers;
        public bool Dropped;
    }

    /// <summary>A cached set's batches, held for reading until disposed (the cache does not free them before).</summary>
    public sealed class Lease : IDisposable
    {
        readonly InputCache cache;
        readonly Entry entry;
        bool ended;

        internal Lease(InputCache cache, Entry entry) => (this.cache, this.entry) = (cache, entry);

        public Tensor[] Batches => entry.Batches;

        public void Dispose()
        {
            lock (cache.gate)
            {
                if (ended) return;
                ended = true;
                entry.Readers--;
                if (entry.Dropped && entry.Readers == 0) Free(entry);
            }
        }
    }

    /// <summary>Bytes the inputs of <paramref name="count"/> images take under <paramref name="config"/>.</summary>
    public static long BytesOf(long count, PreprocessConfig config) => count * 3L * config.ImageSize * config.ImageSize * sizeof(float);

    /// <summary>Whether a set of <paramref name="count"/> images is small enough to keep.</summary>
    public bool Fits(long count, PreprocessConfig config) => BytesOf(count, config) <= entryBytes;

    /// <summary>The cached batches of this set, leased (dispose the lease when done reading), or null.</summary>
    public Lease? Find(ImageDataset data, ITrigger? trigger, PreprocessConfig config, long[] indices, int batchSize)
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
                e.Readers++;
                return new Lease(this, e);
            }
            return null;
        }
    }

    /// <summary>
    /// Keeps <paramref name="batches"/> (now owned by the cache) when the set is small enough, dropping the least recently
    /// used sets beyond the budget; false when not kept (the caller still owns them).
    /// </summary>
    public bool Keep(ImageDataset data, ITrigger? trigger, PreprocessConfig config, long[] indices, int batchSize, Tensor[] batches)
    {
        long bytes = BytesOf(indices.Length, config);
        if (bytes > entryBytes) return false;
        lock (gate)
        {
            while (held + bytes > budget && entries.Last is { } last)
            {
                held -= last.Value.Bytes;
                entries.RemoveLast();
                last.Value.Dropped = true;
                if (last.Value.Readers == 0) Free(last.Value);
            }
            entries.AddFirst(new Entry(data, trigger, config, (long[])indices.Clone(), batchSize, batches, bytes));
            held += bytes;
            return true;
        }
    }

    static void Free(Entry e)
    {
        foreach (var t in e.Batches) t.Dispose();
    }

    static bool Same(PreprocessConfig a, PreprocessConfig b) =>
        a.ImageSize == b.ImageSize && a.Mean.AsSpan().SequenceEqual(b.Mean) && a.Std.AsSpan().SequenceEqual(b.Std);
}
