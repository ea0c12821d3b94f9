using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using static TorchSharp.torch;

namespace Tbar;

/// <summary>
/// A batch cut into contiguous row blocks that run side by side on worker threads with one libtorch thread each. With one
/// block per libtorch thread, a 2-core machine runs two half-batches at once instead of splitting every small op over two
/// OpenMP threads: on the mini-CLIP's small matrices that is faster, and it does not collapse when other jobs share the
/// cores (OpenMP's barrier spin does). The split depends only on <see cref="Workers"/> and the row count, and each block
/// always runs single-threaded, so results are the same whichever thread calls and however the blocks are scheduled.
/// </summary>
public static class Shards
{
    static readonly Lazy<Worker[]> pool = new(StartWorkers);
    [ThreadStatic] static bool onWorker;

    /// <summary>Blocks a batch is cut into: the caller's libtorch thread count when first used (1: no cutting).</summary>
    public static int Workers => pool.Value.Length is 0 ? 1 : pool.Value.Length;

    /// <summary>How many blocks a batch of <paramref name="rows"/> is cut into: <see cref="Workers"/>, at most one a row.</summary>
    public static int Count(long rows) => (int)Math.Max(1, Math.Min(Workers, rows));

    /// <summary>(start, length) of <paramref name="count"/> contiguous blocks covering 0..rows−1; the first ones take the remainder.</summary>
    public static (long Start, long Length)[] Split(long rows, int count)
    {
        var blocks = new (long, long)[count];
        long start = 0;
        for (int k = 0; k < count; k++)
        {
            long length = rows / count + (k < rows % count ? 1 : 0);
            blocks[k] = (start, length);
            start += length;
        }
        return blocks;
    }

    /// <summary>
    /// <paramref name="f"/>(start, length) of every block, in block order. With one block it runs on the calling thread as
    /// is; otherwise block k runs on worker k (grad mode and dispose scopes are per thread: <paramref name="f"/> sets its
    /// own and hands back tensors detached from its scope). Called from a worker, the blocks run there one after another.
    /// </summary>
    /// <remarks>
    /// With <paramref name="together"/> false the blocks still run each on its own worker with one libtorch thread, but one
    /// after another: the same results bit for bit, at one thread's speed, holding one block's tensors at a time instead of
    /// all of them (<see cref="Together"/>).
    /// </remarks>
    public static T[] Map<T>(long rows, Func<long, long, T> f, bool together = true)
    {
        var blocks = Split(rows, Count(rows));
        if (blocks.Length == 1) return [f(0, rows)];
        if (onWorker) return blocks.Select(b => f(b.Start, b.Length)).ToArray();
        var results = new T[blocks.Length];
        var errors = new Exception?[blocks.Length];
        using var done = new CountdownEvent(blocks.Length);
        // Taking turns: the next block is posted once this one is done (a blocking wait: spinning would take the core). The
        // worker releases before it signals, so nothing it touches is disposed under it once the last signal lets Map return.
        using var finished = together ? null : new SemaphoreSlim(0);
        for (int k = 0; k < blocks.Length; k++)
        {
            int i = k;
            pool.Value[i].Post(() =>
            {
                try { results[i] = f(blocks[i].Start, blocks[i].Length); }
                catch (Exception e) { errors[i] = e; }
                finally
                {
                    finished?.Release();
                    done.Signal();
                }
            });
            finished?.Wait();
        }
        done.Wait();
        if (errors.FirstOrDefault(e => e != null) is { } error) ExceptionDispatchInfo.Capture(error).Throw();
        return results;
    }

    /// <summary>
    /// Most bytes the blocks of one training step may hold in forward-pass tensors at once (which the backward pass keeps):
    /// beyond it they run one after another. <see cref="DefaultActivationBudget"/> unless the CLI's <c>--activation-budget</c>
    /// sets it.
    /// </summary>
    public static long ActivationBudget { get; set; } = DefaultActivationBudget;

    /// <summary>1 GiB (docs/checkpoints.md, "Memory"): a ViT-B/32 step's two 32-image blocks hold more, so they take turns.</summary>
    public const long DefaultActivationBudget = 1L << 30;

    /// <summary>
    /// Whether the blocks of a step over <paramref name="rows"/> rows run together, given what one row's forward pass made
    /// (<paramref name="bytesPerRow"/>; null before it is known: the first step runs one block at a time and measures it).
    /// </summary>
    public static bool Together(long rows, long? bytesPerRow) => bytesPerRow is { } b && rows * b <= ActivationBudget;

    // One worker per libtorch thread of the first caller. A worker sets itself to one libtorch thread (OpenMP's and MKL's
    // counts are per thread); that call also lowers libtorch's process-wide default, so the caller's count is put back.
    static Worker[] StartWorkers()
    {
        int threads = get_num_threads();
        if (threads <= 1) return [];
        var workers = Enumerable.Range(0, threads).Select(k => new Worker(k)).ToArray();
        set_num_threads(threads);
        return workers;
    }

    sealed class Worker
    {
        readonly BlockingCollection<Action> work = [];

        public Worker(int index)
        {
            using var ready = new ManualResetEventSlim();
            var thread = new Thread(() =>
            {
                onWorker = true;
                set_num_threads(1);
                ready.Set();
                foreach (var job in work.GetConsumingEnumerable()) job();
            }) { IsBackground = true, Name = $"tbar-shard-{index}" };
            thread.Start();
            ready.Wait();
        }

        public void Post(Action job) => work.Add(job);
    }
}
