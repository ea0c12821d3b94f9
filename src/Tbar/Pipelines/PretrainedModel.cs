using Tbar.Io;

namespace Tbar.Pipelines;

/// <summary>Writes a pre-trained model folder atomically, with the pretrain.json that records how it was made.</summary>
public static class PretrainedModel
{
    /// <summary>
    /// Runs <paramref name="work"/> into a temporary sibling of <paramref name="outDir"/>, adds pretrain.json, and renames it
    /// into place (a killed run leaves no half-written model).
    /// </summary>
    public static (PretrainResult Result, double Seconds) Build(string outDir, string command, object options, long seed,
        Func<string, IProgress<TrainProgress>?, PretrainResult> work, IProgress<TrainProgress>? progress)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        PretrainResult? result = null;
        AtomicFolder.Write(outDir, "pretrain.json", dir =>
        {
            result = work(dir, progress);
            Record(command, result, options, seed, clock.Elapsed.TotalSeconds).Save(Path.Combine(dir, "pretrain.json"));
        });
        return (result!, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The pretrain.json record of a run.</summary>
    public static RunRecord Record(string command, PretrainResult result, object options, long seed, double seconds) =>
        new(command, options, seed, PretrainSummary.From(result), seconds);
}
