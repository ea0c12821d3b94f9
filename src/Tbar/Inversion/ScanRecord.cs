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
public sealed record ScanSettings(string Model, string Clean, int Images, int HeldOut, InversionOptions Inversion,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Planted = null)
{
    public static ScanSettings Of(string model, string clean, ScanOptions o, string? planted = null) =>
        new(model, clean, o.Images, o.HeldOut, o.Inversion, planted);
}

/// <summary>The results part of scan.json: the verdict and its evidence, as numbers.</summary>
public sealed record ScanSummary(string Verdict, bool Backdoored, double Pl1, double Threshold, string ThresholdSource, int Target,
    string TargetName, double TargetShare, long TargetHits, long TargetTotal, bool SimilarityReached, double HeldOutSimilarityStamped,
    double HeldOutSimilarityClean, double InversionSeconds)
{
    public static ScanSummary From(ScanVerdict v) => new(v.Backdoored ? "backdoored" : "clean", v.Backdoored, v.Pl1, v.Threshold,
        v.ThresholdSource, v.Target, v.TargetName, v.TargetShare.Value, v.TargetShare.Hits, v.TargetShare.Total, v.Inversion.Reached,
        v.Inversion.Similarity, v.Inversion.CleanSimilarity, v.Inversion.Seconds);
}

/// <summary>scan.json, written by `tbar scan` beside the inverted trigger and read by `tbar unlearn --forget inverted:DIR`.</summary>
public static class ScanRecord
{
    public const string FileName = "scan.json";

    public static void Save(string dir, string command, ScanSettings settings, ScanVerdict verdict, double seconds) =>
        new RunRecord(command, settings, settings.Inversion.Seed, ScanSummary.From(verdict), seconds).Save(Path.Combine(dir, FileName));

    public static StoredRun<ScanSettings, ScanSummary> Load(string dir) =>
        StoredRun<ScanSettings, ScanSummary>.Load(Path.Combine(dir, FileName), "tbar scan");
}
