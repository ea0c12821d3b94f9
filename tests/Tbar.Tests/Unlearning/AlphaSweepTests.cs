using Tbar.Evaluation;

namespace Tbar.Tests.Unlearning;

public class AlphaSweepTests
{
    // A synthetic model: ASR falls linearly to 0 at α = 1.3, CA falls slowly with α.
    static AlphaPoint Curve(double a, double zeroAt = 1.3, double caSlope = 0.05) => new(a,
        new Rate((long)Math.Round(1000 * Math.Max(0, 0.9 - caSlope * a)), 1000),
        new Rate((long)Math.Round(1000 * Math.Max(0, 1 - a / zeroAt)), 1000));

    [Fact]
    public void PicksNearTheSmallestAlphaMeetingTheTarget()
    {
        var choice = AlphaSweep.Choose(a => Curve(a), new AlphaRule());
        Assert.True(choice.Feasible);
        Assert.True(choice.Point.AttackSuccess.Value <= 0.01);
        Assert.InRange(choice.Alpha, 1.287, 1.33);
        Assert.True(choice.Curve.Count < 16, "bracket + bisection, not a dense grid");
        Assert.Equal(choice.Curve.OrderBy(p => p.Alpha).Select(p => p.Alpha), choice.Curve.Select(p => p.Alpha));
    }

    [Fact]
    public void NoBackdoorMeansNoAlpha()
    {
        var choice = AlphaSweep.Choose(a => new AlphaPoint(a, new Rate(900, 1000), new Rate(3, 1000)), new AlphaRule());
        Assert.Equal(0, choice.Alpha);
        Assert.True(choice.Feasible);
        Assert.Contains("no backdoor", choice.Reason);
        Assert.Single(choice.Curve);
    }

    [Fact]
    public void InfeasibleRuleIsSaidAndTheBestTradeOffReturned()
    {
        // CA collapses long before ASR reaches the target.
        var choice = AlphaSweep.Choose(a => Curve(a, zeroAt: 100, caSlope: 0.3), new AlphaRule());
        Assert.False(choice.Feasible);
        Assert.Contains("no setting met", choice.Reason);
        Assert.True(choice.Point.CleanAccuracy.Value >= 0.9 * 0.9);
    }

    [Fact]
    public void AValleyBetweenTwoDoublingStepsIsFoundWhenAsked()
    {
        // ASR is U-shaped with its minimum (0.2%) near α = 20 and above 1% at α = 16 and 32, the doubling points around it.
        AlphaPoint U(double a) => new(a, new Rate((long)Math.Round(1000 * Math.Max(0, 0.9 - 0.004 * a)), 1000),
            new Rate((long)Math.Round(1000 * Math.Min(1, 0.002 + Math.Pow((a - 20) / 30, 2))), 1000));
        var plain = AlphaSweep.Choose(U, new AlphaRule(CaFloor: 0.75, MaxAlpha: 64));
        Assert.False(plain.Feasible);
        var valley = AlphaSweep.Choose(U, new AlphaRule(CaFloor: 0.75, MaxAlpha: 64, ValleySteps: 6));
        Assert.True(valley.Feasible, valley.Reason);
        Assert.True(valley.Point.AttackSuccess.Value <= 0.01);
        Assert.InRange(valley.Alpha, 14, 26);
        Assert.True(valley.Curve.Count <= plain.Curve.Count + 6 + 3, $"{valley.Curve.Count} evaluations");
    }
}
