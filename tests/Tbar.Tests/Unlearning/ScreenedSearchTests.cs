using Tbar.Evaluation;

namespace Tbar.Tests.Unlearning;

public class ScreenedSearchTests
{
    // A synthetic model: ASR falls as a logistic in α around `mid` (width 1/steep), CA falls quadratically from 92%.
    static double Asr(double a, double mid, double steep) => 0.998 / (1 + Math.Exp(steep * (a - mid)));

    static double Ca(double a, double drop) => 0.92 - drop * a * a;

    static Func<double, AlphaPoint> Full(double mid, double steep, double drop, List<double> calls) => a =>
    {
        calls.Add(a);
        return new AlphaPoint(a, new Rate((long)Math.Round(2000 * Ca(a, drop)), 2000), new Rate((long)Math.Round(1800 * Asr(a, mid, steep)), 1800));
    };

    static Func<double, AlphaLook> Look(double mid, double steep, double drop, List<double> calls) => a =>
    {
        calls.Add(a);
        return new AlphaLook(a, new Rate((long)Math.Round(256 * Ca(a, drop)), 256), new Rate((long)Math.Round(256 * Asr(a, mid, steep)), 256));
    };

    static AlphaChoice Grid(double mid, double steep, double drop, AlphaRule rule)
    {
        var f = Full(mid, steep, drop, []);
        var grid = Enumerable.Range(1, rule.GridPoints).Select(k => k * rule.MaxAlpha / rule.GridPoints).ToList();
        return AlphaSweep.ChooseOnGrid(f(0), f, grid, rule, "");
    }

    public static TheoryData<double, double, double> Curves => new()
    {
        { 2.2, 4, 0.002 }, { 1.0, 6, 0.004 }, { 0.6, 8, 0.01 }, { 5.5, 2, 0.0005 }, { 11, 1, 0.0001 }, // the ASR target is met first
        { 2.2, 4, 0.004 }, { 1.5, 2, 0.02 }, { 8, 1, 0.001 },                                       // the CA floor binds first
        { 0.5, 7.2, 0.0589 },                                          // feasible only in α ≈ 1.14–1.25, as blended seed 0
    };

    [Theory]
    [MemberData(nameof(Curves))]
    public void LandsWithinOneGridStepOfTheGridChoiceInFewFullEvaluations(double mid, double steep, double drop)
    {
        var rule = new AlphaRule(Search: "screened");
        List<double> full = [], looks = [];
        var choice = AlphaSweep.Search(Full(mid, steep, drop, full), Look(mid, steep, drop, looks), rule);
        var grid = Grid(mid, steep, drop, rule);
        Assert.Equal(grid.Feasible, choice.Feasible);
        Assert.InRange(choice.Alpha - grid.Alpha, -rule.MaxAlpha / rule.GridPoints, rule.MaxAlpha / rule.GridPoints);
        Assert.True(full.Count <= 6, $"{full.Count} full evaluations at {string.Join(", ", full)}");
        Assert.Equal(full.Count, choice.Curve.Count);
        Assert.Equal(looks.Count, choice.Looks!.Count);
        Assert.True(looks.Count <= 12, $"{looks.Count} looks");
    }

    [Theory]
    [InlineData(0.5, 20, 0.1)]
    [InlineData(0.3, 30, 0.2)]
    [InlineData(0.15, 60, 0.5)]
    public void ASmallAlphaIsFoundToWithinASixteenthOfItself(double mid, double steep, double drop)
    {
        // rn18-clip's α* is ≈ 0.5, about one 0.4 grid step: the answer must not sit a whole step past the crossing.
        var rule = new AlphaRule(Search: "screened");
        var choice = AlphaSweep.Search(Full(mid, steep, drop, []), Look(mid, steep, drop, []), rule);
        double crossing = mid + Math.Log(0.998 / 0.01 - 1) / steep;
        Assert.True(choice.Feasible);
        Assert.InRange(choice.Alpha, crossing - 0.01, crossing * (1 + 1.0 / 16) + 0.01);
    }

    [Fact]
    public void UsesFewerFullEvaluationsThanBisectionOnAverage()
    {
        double screened = 0, bisect = 0;
        foreach (var c in Curves)
        {
            var (mid, steep, drop) = ((double)c[0], (double)c[1], (double)c[2]);
            List<double> a = [], b = [];
            AlphaSweep.Search(Full(mid, steep, drop, a), Look(mid, steep, drop, []), new AlphaRule(Search: "screened"));
            AlphaSweep.Search(Full(mid, steep, drop, b), Look(mid, steep, drop, []), new AlphaRule());
            screened += a.Count;
            bisect += b.Count;
        }
        Assert.True(screened / Curves.Count <= 4.5, $"screened: {screened / Curves.Count:F2} full evaluations per search");
        Assert.True(bisect > 1.5 * screened, $"bisect {bisect}, screened {screened}");
    }

    [Fact]
    public void NoBackdoorCostsOneEvaluationAndNoLook()
    {
        List<double> looks = [];
        var choice = AlphaSweep.Search(a => new AlphaPoint(a, new Rate(900, 1000), new Rate(3, 1000)), Look(1, 1, 0, looks),
            new AlphaRule(Search: "screened"));
        Assert.Equal(0, choice.Alpha);
        Assert.Single(choice.Curve);
        Assert.Empty(looks);
    }

    [Fact]
    public void AnUnknownSearchIsAnErrorNamingTheValidOnes()
    {
        var e = Assert.Throws<TbarException>(() => AlphaSweep.Search(Full(1, 1, 0, []), Look(1, 1, 0, []), new AlphaRule(Search: "golden")));
        Assert.Contains("golden", e.Message);
        Assert.Contains("screened", e.Message);
    }

    [Theory]
    [InlineData(256, 0.01, 0.01)]
    [InlineData(256, 0.8, 0.01)]
    [InlineData(64, 0.05, 0.05)]
    public void TheLookTestIsNoMoreOftenWrongThanDelta(int n, double p, double delta)
    {
        // The smallest hit count the test calls "above p": its exact binomial tail at share p must be ≤ δ, and one hit fewer
        // must not be called above (no count at or below n·p is).
        int k = Enumerable.Range(0, n + 1).First(h => Chernoff.Above(new Rate(h, n), p, delta));
        Assert.True(k > n * p);
        Assert.True(UpperTail(n, p, k) <= delta, $"P(X ≥ {k}) = {UpperTail(n, p, k)}");
        Assert.False(Chernoff.Above(new Rate(k - 1, n), p, delta));
    }

    static double UpperTail(int n, double p, int k)
    {
        double total = 0;
        for (int h = k; h <= n; h++)
            total += Math.Exp(LogChoose(n, h) + h * Math.Log(p) + (n - h) * Math.Log(1 - p));
        return total;
    }

    static double LogChoose(int n, int k) => LogFactorial(n) - LogFactorial(k) - LogFactorial(n - k);

    static double LogFactorial(int n) => Enumerable.Range(1, n).Sum(i => Math.Log(i));
}
