using Tbar.Evaluation;
using Tbar.Inversion;

namespace Tbar.Tests.Inversion;

public class DetectorTests
{
    [Fact]
    public void ClopperPearsonUpperBoundsMatchTheirDefinition()
    {
        // 0 of n: the bound solves (1 − p)^n = 0.025 exactly.
        Assert.Equal(1 - Math.Pow(0.025, 1.0 / 20), DetectionStats.ClopperPearsonUpper(0, 20), 6);
        Assert.Equal(0.1684, DetectionStats.ClopperPearsonUpper(0, 20), 3);
        // 1 of 20: the published table value 0.2487.
        Assert.Equal(0.2487, DetectionStats.ClopperPearsonUpper(1, 20), 3);
        Assert.Equal(1, DetectionStats.ClopperPearsonUpper(5, 5));
        Assert.Throws<TbarException>(() => DetectionStats.ClopperPearsonUpper(3, 2));
    }

    [Fact]
    public void PercentilesAndAurocAreTheTextbookOnes()
    {
        Assert.Equal(0.975, DetectionStats.NormalCdf(1.959964), 5);
        Assert.Equal(0.5, DetectionStats.NormalCdf(0), 7);
        Assert.Equal(0.158655, DetectionStats.Percentile(1, 2, 1), 4);
        Assert.Equal(0.75, DetectionStats.Auroc([2, 0.5], [1, 0]), 9);
        Assert.Equal(0.5, DetectionStats.Auroc([1], [1]), 9);
    }

    static CalibrationModel Clean(int i) => new($"clean-seed-{i}", 0.02 + 0.001 * (i % 5), 0.7, 0.30 + 0.01 * (i % 7));

    [Fact]
    public void TheVerdictFlagsEitherStatisticBeyondTheCleanModels()
    {
        var clean = Enumerable.Range(0, 20).Select(Clean).ToList();
        var v = VerdictCalibration.Fit(clean, [.. Enumerable.Range(20, 10).Select(Clean)], 0.05, ScanOptions.Default);
        Assert.Equal(0.975, v.Threshold, 12);
        Assert.Equal(0, v.LeaveOneOut.Flagged);
        Assert.Equal(10, v.HeldOut!.Fpr.Total);
        Assert.True(v.LeaveOneOut.Upper95 > 0.16, "0 of 20 must not read as a 0 % rate");
        Assert.True(v.Score(0.005, 0.33) >= v.Threshold, "a small stamp is not flagged");
        Assert.True(v.Score(0.022, 0.60) >= v.Threshold, "a collapsing warp is not flagged");
        Assert.True(v.Score(0.022, 0.33) < v.Threshold, "an ordinary clean model is flagged");
        var warpless = clean.Select(m => m with { WarpSimilarity = null }).ToList();
        Assert.Contains("no warp statistic", Assert.Throws<TbarException>(() => VerdictCalibration.Fit(warpless, [], 0.05, ScanOptions.Default)).Message);
    }
}
