using System.Diagnostics;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

/// <summary>Median wall times and the machine facts every benchmark JSON carries.</summary>
static class Timing
{
    /// <summary>Seconds of each of <paramref name="iters"/> timed runs after <paramref name="warmup"/> untimed ones.</summary>
    public static double[] Runs(int iters, Action run, int warmup = 1)
    {
        for (int i = 0; i < warmup; i++) run();
        var times = new double[iters];
        for (int i = 0; i < iters; i++)
        {
            var sw = Stopwatch.StartNew();
            run();
            times[i] = sw.Elapsed.TotalSeconds;
        }
        return times;
    }

    /// <summary>
    /// CPU seconds of the calling thread for each of <paramref name="iters"/> runs: with one libtorch thread every op runs on
    /// the caller, so this reads the work done and not the wait for a core shared with other jobs (profiling only).
    /// </summary>
    public static double[] CpuRuns(int iters, Action run, int warmup = 1)
    {
        for (int i = 0; i < warmup; i++) run();
        var times = new double[iters];
        for (int i = 0; i < iters; i++)
        {
            double start = ThreadCpuSeconds();
            run();
            times[i] = ThreadCpuSeconds() - start;
        }
        return times;
    }

    [StructLayout(LayoutKind.Sequential)]
    struct TimeSpec { public long Seconds, Nanoseconds; }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    static extern int ClockGetTime(int clock, out TimeSpec value);

    static double ThreadCpuSeconds()
    {
        const int threadCpuTime = 3;   // CLOCK_THREAD_CPUTIME_ID
        ClockGetTime(threadCpuTime, out var t);
        return t.Seconds + t.Nanoseconds * 1e-9;
    }

    /// <summary>Median of <see cref="Runs"/>.</summary>
    public static double Median(int iters, Action run, int warmup = 1) => Median(Runs(iters, run, warmup));

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /// <summary>GFLOP/s of a float32 n×n matmul (median of <paramref name="iters"/>).</summary>
    public static double MatmulGflops(int n = 2048, int iters = 5)
    {
        using var x = randn(n, n, generator: new Generator(0));
        using var y = randn(n, n, generator: new Generator(1));
        double s = Median(iters, () => x.matmul(y).Dispose());
        return 2.0 * n * n * n / s / 1e9;
    }

    /// <summary>CPU, BLAS path, vendor fix, threads, matmul peak, versions and the load average at the time of the run.</summary>
    public static MachineFacts Machine(int matmulIters = 5) => Machine(Platform.Read(), matmulIters);

    static MachineFacts Machine(Platform p, int matmulIters) => new(p.Cpu, p.Blas, p.Native, get_num_threads(), Environment.ProcessorCount, MatmulGflops(2048, matmulIters),
        typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString() ?? "?", __version__, Environment.Version.ToString(), LoadAverage(),
        DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"));

    /// <summary>The 1-, 5- and 15-minute load averages from /proc/loadavg (empty elsewhere).</summary>
    public static double[] LoadAverage()
    {
        const string path = "/proc/loadavg";
        if (!File.Exists(path)) return [];
        return File.ReadAllText(path).Split(' ').Take(3)
            .Select(s => double.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    }
}

/// <summary>
/// What a benchmark number depends on: the CPU, the BLAS and its kernels, whether the oneMKL vendor fix was active, libtorch
/// threads, cores, a 2048² float32 matmul's GFLOP/s, versions, load.
/// </summary>
sealed record MachineFacts(Tbar.CpuInfo Cpu, BlasInfo Blas, Tbar.NativeState Native, int Threads, int Cores, double Matmul2048Gflops, string TorchSharp, string Libtorch, string Dotnet,
    double[] LoadAverage, string WrittenAt);

/// <summary>What every benchmark JSON names, a side-by-side row included: the CPU, the BLAS path, the vendor fix's state.</summary>
sealed record Platform(Tbar.CpuInfo Cpu, BlasInfo Blas, Tbar.NativeState Native)
{
    public static Platform Read() => new(Tbar.CpuInfo.Read(), BlasInfo.Read(), Tbar.NativeStartup.Initialize());
}
