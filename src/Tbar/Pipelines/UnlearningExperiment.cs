namespace Tbar.Pipelines;

/// <summary>Settings of <c>tbar experiment unlearning</c>: the demo with <paramref name="Demo"/>'s settings, once per seed.</summary>
/// <param name="Demo">The demo's settings; its seed is replaced by each of <paramref name="Seeds"/>.</param>
/// <param name="Seeds">Seeds, one demo and one folder each.</param>
/// <param name="Out">Output folder: seed-K/ per seed, the table over seeds beside them.</param>
public sealed record UnlearningOptions(DemoOptions Demo, long[] Seeds, string Out);

/// <summary>The demo over seeds: every seed is a whole demo run in its own folder, and the table is made from those folders.</summary>
public static class UnlearningExperiment
{
    /// <summary>Folder of one seed's demo.</summary>
    public static string SeedDir(string outDir, long seed) => Path.Combine(outDir, $"seed-{seed}");

    /// <summary>The seed folders under <paramref name="outDir"/> that hold a finished demo (results.json), in seed order.</summary>
    public static IReadOnlyList<string> FinishedSeedDirs(string outDir) => !Directory.Exists(outDir) ? [] : [.. Directory
        .EnumerateDirectories(outDir, "seed-*")
        .Select(d => (Dir: d, Seed: long.TryParse(Path.GetFileName(d)["seed-".Length..], out long s) ? s : (long?)null))
        .Where(x => x.Seed != null && x.Dir == SeedDir(outDir, x.Seed.Value) && File.Exists(Path.Combine(x.Dir, "results.json")))
        .OrderBy(x => x.Seed).Select(x => x.Dir)];

    /// <summary>The demo of one seed (the caller writes it to <see cref="SeedDir"/>).</summary>
    public static DemoResult RunSeed(UnlearningOptions o, long seed, IProgress<TrainProgress>? progress = null) =>
        DemoPipeline.Run(o.Demo with { Seed = seed }, null, progress);
}
