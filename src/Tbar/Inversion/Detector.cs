using Tbar.Data;
using Tbar.Evaluation;
using Tbar.Models;

namespace Tbar.Inversion;

/// <summary>Mean and sample sd of one statistic over clean models; a new value's percentile among them.</summary>
public sealed record StatisticFit(double Mean, double Sd)
{
    public static StatisticFit Of(IReadOnlyList<double> values)
    {
        if (values.Count < 2) throw new TbarException($"a calibration needs at least 2 clean models (got {values.Count})");
        double mean = values.Average();
        return new StatisticFit(mean, Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1)));
    }

    public double Percentile(double x) => DetectionStats.Percentile(x, Mean, Sd);
}

/// <summary>How many clean models a verdict flagged, and the Clopper–Pearson 95 % upper bound of that rate.</summary>
public sealed record FprCheck(long Flagged, long Total, double Rate, double Upper95)
{
    public static FprCheck Of(long flagged, long total) =>
        new(flagged, total, (double)flagged / total, DetectionStats.ClopperPearsonUpper(flagged, total));

    public override string ToString() => $"{Flagged}/{Total} = {Rate:P1} (95 % upper bound {Upper95:P1})";
}

/// <summary>Clean models kept out of the fit, and the false-positive rate the verdict has on them.</summary>
public sealed record HeldOutCheck(IReadOnlyList<CalibrationModel> Models, FprCheck Fpr);

/// <summary>
/// The two-inversion verdict's calibration. Each statistic is oriented so that higher is more suspicious (DECREE: −PL1;
/// warp: the warped images' similarity) and turned into a percentile among the clean models (normal fit); the verdict's
/// score is the larger percentile, and a model is backdoored when it reaches <paramref name="Threshold"/>. The threshold
/// is 1 − target/2: under the normal fit each statistic alone passes it on a clean model with chance target/2, so both
/// together at most target (Bonferroni). Whether that holds is measured, not assumed: leave-one-out on the calibration
/// models and, when given, on held-out clean models.
/// </summary>
public sealed record VerdictCalibration(double TargetFpr, double Threshold, string Rule, StatisticFit Decree, StatisticFit Warp,
    ScanOptions Scan, FprCheck LeaveOneOut, HeldOutCheck? HeldOut)
{
    /// <summary>The percentiles of a model's two statistics among the clean models.</summary>
    public (double Decree, double Warp) Percentiles(double pl1, double warpSimilarity) => (Decree.Percentile(-pl1), Warp.Percentile(warpSimilarity));

    public double Score(double pl1, double warpSimilarity)
    {
        var (d, w) = Percentiles(pl1, warpSimilarity);
        return Math.Max(d, w);
    }

    /// <summary>Fits both statistics on <paramref name="clean"/>; checks the rate leave-one-out and on <paramref name="heldOut"/>.</summary>
    public static VerdictCalibration Fit(IReadOnlyList<CalibrationModel> clean, IReadOnlyList<CalibrationModel> heldOut, double targetFpr,
        ScanOptions scan)
    {
        if (!(targetFpr > 0 && targetFpr < 1)) throw new TbarException($"--target-fpr {targetFpr} must lie in (0, 1)");
        var missing = clean.Concat(heldOut).FirstOrDefault(m => m.WarpSimilarity == null);
        if (missing != null) throw new TbarException($"{missing.Model}: no warp statistic (measure it with `tbar scan calibrate`)");
        double threshold = 1 - targetFpr / 2;
        var looFlags = clean.Select((m, i) => Of(clean.Where((_, j) => j != i).ToList(), threshold, targetFpr, scan).Flags(m)).Count(f => f);
        var fitted = Of(clean, threshold, targetFpr, scan);
        var check = heldOut.Count == 0 ? null : new HeldOutCheck(heldOut, FprCheck.Of(heldOut.Count(fitted.Flags), heldOut.Count));
        return fitted with { LeaveOneOut = FprCheck.Of(looFlags, clean.Count), HeldOut = check };
    }

    static VerdictCalibration Of(IReadOnlyList<CalibrationModel> clean, double threshold, double targetFpr, ScanOptions scan) =>
        new(targetFpr, threshold, $"backdoored when max(percentile of −PL1, percentile of warp similarity) ≥ 1 − {targetFpr}/2 " +
            $"(normal fit over {clean.Count} clean models)", StatisticFit.Of([.. clean.Select(m => -m.Pl1)]),
            StatisticFit.Of([.. clean.Select(m => m.WarpSimilarity!.Value)]), scan, FprCheck.Of(0, 1), null);

    bool Flags(CalibrationModel m) => Score(m.Pl1, m.WarpSimilarity!.Value) >= Threshold;
}

/// <summary>The class a triggered held-out set mostly lands in, and how many do.</summary>
public sealed record InferredTarget(int Class, string Name, Rate Share)
{
    public static InferredTarget Of(Clip model, ZeroShotHead head, ImageDataset data, long[] heldOut, Attacks.ITrigger trigger)
    {
        var predictions = Metrics.Predict(model, head, data, heldOut, trigger);
        var (target, hits) = predictions.GroupBy(p => p).Select(g => (Class: (int)g.Key, Count: g.LongCount()))
            .OrderByDescending(g => g.Count).ThenBy(g => g.Class).First();
        return new InferredTarget(target, head.ClassNames[target], new Rate(hits, predictions.Length));
    }
}

/// <summary>
/// `tbar scan`'s verdict: both inversions with their statistics and percentiles, the verdict's score (the larger
/// percentile) against the threshold, and the target each inversion's trigger sends held-out images to. "Best" names the
/// inversion with the larger percentile: its trigger is the one to clean on.
/// </summary>
public sealed record Detection(bool Backdoored, double Score, double Threshold, string ThresholdSource, double DecreePercentile,
    double WarpPercentile, InversionResult Decree, WarpResult Warp, InferredTarget DecreeTarget, InferredTarget WarpTarget)
{
    public string Best => WarpPercentile > DecreePercentile ? "warp" : "decree";

    public InferredTarget Target => Best == "warp" ? WarpTarget : DecreeTarget;

    public string Summary => $"{(Backdoored ? "BACKDOORED" : "clean")}: score {Score:F4} {(Backdoored ? "≥" : "<")} threshold {Threshold:F4} " +
        $"(DECREE PL1 {Decree.Pl1:P2} → percentile {DecreePercentile:F4}; " +
        $"warp similarity {Warp.Similarity:F3} → percentile {WarpPercentile:F4}); " +
        $"the {Best} trigger sends images to '{Target.Name}' ({Target.Share})";
}

/// <summary>Both inversions → the calibrated verdict; the clean models' statistics → the calibration.</summary>
public static class Detector
{
    /// <summary>Runs DECREE and the warp inversion on <paramref name="pool"/> and judges by <paramref name="verdict"/>.</summary>
    public static Detection Detect(Clip model, ZeroShotHead head, ImageDataset data, long[] pool, VerdictCalibration verdict, double threshold,
        string thresholdSource, ScanOptions o, IProgress<TrainProgress>? progress = null)
    {
        var (train, heldOut) = Scanner.Split(pool, o);
        var encoder = PixelEncoder.Of(model);
        var decree = Decree.Invert(encoder, data, train, heldOut, o.Inversion, progress);
        var warp = WarpInversion.Invert(encoder, data, train, heldOut, o.WarpSettings with { Seed = o.Inversion.Seed }, progress);
        var (d, w) = verdict.Percentiles(decree.Pl1, warp.Similarity);
        double score = Math.Max(d, w);
        return new Detection(score >= threshold, score, threshold, thresholdSource, d, w, decree, warp,
            InferredTarget.Of(model, head, data, heldOut, decree.Trigger), InferredTarget.Of(model, head, data, heldOut, warp.Trigger));
    }

    /// <summary>One clean model's statistics: DECREE's PL1 and held-out similarity, and the warp inversion's similarity.</summary>
    public static CalibrationModel Measure(Clip model, string name, ImageDataset data, long[] pool, ScanOptions o,
        IProgress<TrainProgress>? progress = null)
    {
        var point = Scanner.MeasureClean(model, name, data, pool, o, progress);
        var (train, heldOut) = Scanner.Split(pool, o);
        var warp = WarpInversion.Invert(PixelEncoder.Of(model), data, train, heldOut, o.WarpSettings with { Seed = o.Inversion.Seed }, progress);
        using (warp.Trigger) return point with { WarpSimilarity = warp.Similarity };
    }

    /// <summary>The calibration file: DECREE's PL1 rule (kept for the demo) and the two-inversion verdict.</summary>
    public static ScanCalibration Calibrate(IReadOnlyList<CalibrationModel> clean, IReadOnlyList<CalibrationModel> heldOut, string architecture,
        double targetFpr, ScanOptions o) =>
        Scanner.Calibrate(clean, architecture) with { Verdict = VerdictCalibration.Fit(clean, heldOut, targetFpr, o) };
}
