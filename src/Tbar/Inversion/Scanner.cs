using System.Text.Json;
using System.Text.Json.Serialization;
using Tbar.Data;
using Tbar.Evaluation;
using Tbar.Io;
using Tbar.Models;

namespace Tbar.Inversion;

/// <summary>Scan settings: the inversion and how many of the defender's clean images it uses.</summary>
/// <param name="Inversion">The inversion's settings.</param>
/// <param name="Images">Clean images the inversion optimises on.</param>
/// <param name="HeldOut">Further clean images on which similarity and the inferred target are measured.</param>
/// <param name="Warp">The warp inversion's settings (null: its defaults).</param>
public sealed record ScanOptions(InversionOptions Inversion, int Images = 2000, int HeldOut = 1000,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] WarpOptions? Warp = null)
{
    public static ScanOptions Default => new(new InversionOptions());

    /// <summary>The warp inversion's settings (the defaults when none are set); not a record field of its own.</summary>
    [JsonIgnore]
    public WarpOptions WarpSettings => Warp ?? new WarpOptions();
}

/// <summary>
/// The PL1 threshold below which a model is called backdoored, with where it came from: the PL1 of clean models of the
/// same architecture, inverted the same way (<see cref="Scanner.Calibrate"/>). The rule puts the threshold at a fixed
/// fraction of the smallest clean PL1, so it is set by clean models only.
/// The <see cref="Verdict"/> part, when present, calibrates `tbar scan`'s two-inversion verdict on the same clean models.
/// </summary>
public sealed record ScanCalibration(double Threshold, string Rule, IReadOnlyList<CalibrationModel> CleanModels, string Architecture,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] VerdictCalibration? Verdict = null)
{
    public const double Fraction = 0.7;

    public void Save(string path) => AtomicFile.WriteText(path, JsonSerializer.Serialize(this, RunRecord.Json) + "\n");

    public static ScanCalibration Load(string path)
    {
        if (!File.Exists(path)) throw new TbarException($"{path}: no scan calibration here (make one with `tbar scan calibrate`, or pass --threshold)");
        try
        {
            var calibration = JsonSerializer.Deserialize<ScanCalibration>(File.ReadAllText(path), RunRecord.Json)
                ?? throw new TbarException($"{path}: empty scan calibration");
            if (!(calibration.Threshold > 0 && calibration.Threshold < 1))
                throw new TbarException($"{path}: threshold {calibration.Threshold} must be a PL1 share in (0, 1)");
            if (calibration.Verdict is { } v && (v.Scan?.Inversion is null || v.Decree is null || v.Warp is null || v.Rule is null))
                throw new TbarException($"{path}: the verdict needs 'scan', 'decree', 'warp' and 'rule'");
            if (calibration.Verdict is { } w && !(w.Threshold > 0 && w.Threshold < 1 && double.IsFinite(w.Decree.Mean) && double.IsFinite(w.Decree.Sd)
                && double.IsFinite(w.Warp.Mean) && double.IsFinite(w.Warp.Sd) && w.Decree.Sd >= 0 && w.Warp.Sd >= 0))
                throw new TbarException($"{path}: the verdict's threshold must lie in (0, 1) and its fits be finite with sd ≥ 0");
            return calibration;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NotSupportedException)
        {
            throw new TbarException($"{path}: not a scan calibration ({e.Message})");
        }
    }
}

/// <summary>One clean model of a calibration: its DECREE PL1 and held-out similarity, and the warp inversion's similarity.</summary>
public sealed record CalibrationModel(string Model, double Pl1, double Similarity,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? WarpSimilarity = null);

/// <summary>
/// The verdict with its evidence: PL1 against the threshold (and where the threshold came from), the inferred target and
/// the share of stamped held-out images the model assigns to it, and the inversion itself.
/// </summary>
public sealed record ScanVerdict(bool Backdoored, double Pl1, double Threshold, string ThresholdSource, int Target, string TargetName,
    Rate TargetShare, InversionResult Inversion)
{
    public string Summary => $"{(Backdoored ? "BACKDOORED" : "clean")}: PL1 {Pl1:P2} {(Backdoored ? "<" : "≥")} threshold {Threshold:P2}; " +
        $"inverted-trigger images go to '{TargetName}' ({TargetShare})";
}

/// <summary>Trigger inversion → verdict, inferred target, and the proxy trigger.</summary>
public static class Scanner
{
    /// <summary>The architecture a calibration holds for: image tower shape and input size.</summary>
    public static string Architecture(Clip model) => Architecture(model.Config);

    /// <summary>The architecture of a model's config (read without loading its weights).</summary>
    public static string Architecture(ClipConfig config) => $"{config.Vision.Summary} embed {config.EmbedDim}";

    /// <summary>Splits the defender's clean pool into inversion images and held-out images (disjoint, from the seed).</summary>
    public static (long[] Train, long[] HeldOut) Split(long[] pool, ScanOptions o)
    {
        int images = Math.Min(o.Images, pool.Length / 2), held = Math.Min(o.HeldOut, pool.Length - images);
        if (images < 2 || held < 2) throw new TbarException($"scan needs at least 4 clean images (got {pool.Length})");
        var parts = Splits.Take(pool, o.Inversion.Seed + 7, images, held);
        return (parts[0], parts[1]);
    }

    /// <summary>Inverts, then judges against <paramref name="threshold"/> and infers the target from the zero-shot head.</summary>
    public static ScanVerdict Scan(Clip model, ZeroShotHead head, ImageDataset data, long[] pool, double threshold, string thresholdSource,
        ScanOptions o, IProgress<TrainProgress>? progress = null)
    {
        var (train, heldOut) = Split(pool, o);
        var inversion = Decree.Invert(PixelEncoder.Of(model), data, train, heldOut, o.Inversion, progress);
        var target = InferredTarget.Of(model, head, data, heldOut, inversion.Trigger);
        return new ScanVerdict(inversion.Reached && inversion.Pl1 < threshold, inversion.Pl1, threshold, thresholdSource, target.Class,
            target.Name, target.Share, inversion);
    }

    /// <summary>One calibration point: inverts a trigger on a model known to be clean and keeps its PL1 and similarity.</summary>
    public static CalibrationModel MeasureClean(Clip model, string name, ImageDataset data, long[] pool, ScanOptions o, IProgress<TrainProgress>? progress = null)
    {
        var (train, heldOut) = Split(pool, o);
        var inversion = Decree.Invert(PixelEncoder.Of(model), data, train, heldOut, o.Inversion, progress);
        using (inversion.Trigger) return new CalibrationModel(name, inversion.Pl1, inversion.Similarity);
    }

    /// <summary>
    /// Threshold from clean models' PL1: <see cref="ScanCalibration.Fraction"/> × the smallest. The models must share one
    /// architecture.
    /// </summary>
    public static ScanCalibration Calibrate(IReadOnlyList<CalibrationModel> clean, string architecture)
    {
        if (clean.Count == 0) throw new TbarException("calibration needs at least one clean model");
        double min = clean.Min(m => m.Pl1);
        return new ScanCalibration(ScanCalibration.Fraction * min,
            $"threshold = {ScanCalibration.Fraction} × smallest PL1 of {clean.Count} clean models ({min:P2})", clean, architecture);
    }
}
