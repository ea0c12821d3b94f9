using System.Text.Json.Serialization;
using Tbar.Io;

namespace Tbar.Inversion;

/// <summary>The settings part of scan.json.</summary>
/// <param name="Model">The scanned model's path (or, inside an experiment, what the model was).</param>
/// <param name="Clean">Data spec of the defender's clean images.</param>
/// <param name="Images">Clean images the inversion optimised on.</param>
/// <param name="HeldOut">Held-out clean images for similarity and the inferred target.</param>
/// <param name="Inversion">The inversion's settings.</param>
/// <param name="Planted">Inside an experiment: the trigger really planted in the model (absent otherwise).</param>
/// <param name="Warp">The warp inversion's settings, when it ran (absent from DECREE-only scans).</param>
public sealed record ScanSettings(string Model, string Clean, int Images, int HeldOut, InversionOptions Inversion,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Planted = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] WarpOptions? Warp = null)
{
    public static ScanSettings Of(string model, string clean, ScanOptions o, string? planted = null, bool warp = false) =>
        new(model, clean, o.Images, o.HeldOut, o.Inversion, planted, warp ? o.WarpSettings : null);
}

/// <summary>
/// The results part of scan.json: the verdict and its evidence, as numbers. For a two-inversion scan the threshold is on
/// the verdict's score (a percentile), the target is the best inversion's, and <see cref="Warp"/> holds the rest.
/// </summary>
public sealed record ScanSummary(string Verdict, bool Backdoored, double Pl1, double Threshold, string ThresholdSource, int Target,
    string TargetName, double TargetShare, long TargetHits, long TargetTotal, bool SimilarityReached, double HeldOutSimilarityStamped,
    double HeldOutSimilarityClean, double InversionSeconds,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] WarpSummary? Warp = null)
{
    public static ScanSummary From(ScanVerdict v) => new(v.Backdoored ? "backdoored" : "clean", v.Backdoored, v.Pl1, v.Threshold,
        v.ThresholdSource, v.Target, v.TargetName, v.TargetShare.Value, v.TargetShare.Hits, v.TargetShare.Total, v.Inversion.Reached,
        v.Inversion.Similarity, v.Inversion.CleanSimilarity, v.Inversion.Seconds);

    public static ScanSummary From(Detection d) => new(d.Backdoored ? "backdoored" : "clean", d.Backdoored, d.Decree.Pl1, d.Threshold,
        d.ThresholdSource, d.Target.Class, d.Target.Name, d.Target.Share.Value, d.Target.Share.Hits, d.Target.Share.Total, d.Decree.Reached,
        d.Decree.Similarity, d.Decree.CleanSimilarity, d.Decree.Seconds,
        new WarpSummary(d.Score, d.Best, d.DecreePercentile, d.WarpPercentile, d.DecreeTarget.Name, d.DecreeTarget.Share.Value, d.Warp.Similarity,
            d.Warp.CleanSimilarity, d.Warp.Trigger.MeanShift, d.Warp.Trigger.ResidualMax, d.WarpTarget.Name, d.WarpTarget.Share.Value,
            d.Warp.Seconds));
}

/// <summary>The two-inversion part of scan.json: the verdict's score, which inversion is best, both percentiles and the warp's evidence.</summary>
public sealed record WarpSummary(double Score, string Best, double DecreePercentile, double WarpPercentile, string DecreeTargetName,
    double DecreeTargetShare, double WarpSimilarity, double WarpCleanSimilarity, double MeanShiftPixels, double ResidualMax, string WarpTargetName,
    double WarpTargetShare, double WarpSeconds);

/// <summary>scan.json, written by `tbar scan` beside the inverted trigger and read by `tbar unlearn --forget inverted:DIR`.</summary>
public static class ScanRecord
{
    public const string FileName = "scan.json";

    public static void Save(string dir, string command, ScanSettings settings, ScanSummary summary, double seconds) =>
        new RunRecord(command, settings, settings.Inversion.Seed, summary, seconds).Save(Path.Combine(dir, FileName));

    public static StoredRun<ScanSettings, ScanSummary> Load(string dir) =>
        StoredRun<ScanSettings, ScanSummary>.Load(Path.Combine(dir, FileName), "tbar scan");
}
