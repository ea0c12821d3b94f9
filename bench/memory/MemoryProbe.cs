namespace Tbar;

/// <summary>
/// Measurement aid, copied into a scratch tree by bench/memory/probe.sh (never part of the library): appends VmRSS and the
/// peak since the previous mark (VmHWM, reset through /proc/self/clear_refs) to the file TBAR_MEMLOG names.
/// </summary>
public static class MemoryProbe
{
    static readonly string? log = Environment.GetEnvironmentVariable("TBAR_MEMLOG");
    static readonly System.Diagnostics.Stopwatch clock = System.Diagnostics.Stopwatch.StartNew();

    public static void Mark(string label)
    {
        if (log == null) return;
        var status = File.ReadAllLines("/proc/self/status");
        long Megabytes(string key) => long.Parse(status.First(l => l.StartsWith(key)).Split(':')[1].Trim().Split(' ')[0]) / 1024;
        File.AppendAllText(log, $"{clock.Elapsed.TotalSeconds,8:F1}s  rss {Megabytes("VmRSS"),6} MB  " +
            $"peak-since-last {Megabytes("VmHWM"),6} MB  managed {GC.GetTotalMemory(false) >> 20,5} MB  {label}\n");
        File.WriteAllText("/proc/self/clear_refs", "5");
        if (Environment.GetEnvironmentVariable("TBAR_MEMLOG_GC") != "1") return;
        // Tensors made outside any dispose scope (on this thread and on each worker) so far, and what a full collection
        // with its finalisers gives back: memory that only the finaliser would have freed.
        static string Counts() => $"{TorchSharp.DisposeScopeManager.Statistics.CreatedOutsideScopeCount}," +
            $"{TorchSharp.DisposeScopeManager.Statistics.DetachedFromScopeCount},{TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount}";
        string Outside() => string.Join(" / ", new[] { Counts() }.Concat(Shards.Map(Shards.Workers, (_, _) => Counts())));
        var gc = GC.GetGCMemoryInfo();
        string before = Outside();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var after = File.ReadAllLines("/proc/self/status");
        long Mb(string key) => long.Parse(after.First(l => l.StartsWith(key)).Split(':')[1].Trim().Split(' ')[0]) / 1024;
        File.AppendAllText(log, $"          rss {Mb("VmRSS"),6} MB after a full collection; GC heap before {gc.HeapSizeBytes >> 20} MB, " +
            $"committed {gc.TotalCommittedBytes >> 20} MB; tensors (outside scopes, detached, live) {before}\n");
        File.WriteAllText("/proc/self/clear_refs", "5");
    }
}
