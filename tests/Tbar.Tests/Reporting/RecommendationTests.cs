using Tbar.Evaluation;
using Tbar.Pipelines;
using Tbar.Reporting;
using Tbar.Unlearning;

namespace Tbar.Tests.Reporting;

/// <summary>
/// What the demo recommends and how it names it: the choice reads validation only, and a row is named for what acted
/// (negation, negation plus a re-fit, a repair at α = 0, or fine-tuning).
/// </summary>
public class RecommendationTests
{
    /// <summary>A method row: validation CA and ASR hits out of 100; test numbers are the same sample for every row.</summary>
    static (TestRow Row, UnlearnResult Record) Method(string name, double? alpha, int valCa, int valAsr)
    {
        var row = new TestRow(name, Samples.Metrics([9, 9, 8], 0, 19), alpha, 1, alpha == null ? "lr 1e-5" : $"α = {alpha}");
        var record = new UnlearnResult(name, null, row.Choice, new AlphaPoint(alpha ?? 0, new Rate(valCa, 100), new Rate(valAsr, 100)), null, 1);
        return (row, record);
    }

    static DemoResult Demo(params (TestRow Row, UnlearnResult Record)[] methods)
    {
        var sample = Samples.Demo(0);
        return sample with
        {
            Methods = [.. methods.Select(m => m.Row)],
            Records = methods.ToDictionary(m => m.Row.Name, m => m.Record),
        };
    }

    [Fact]
    public void TheHighestValidationCaAmongWorkingRowsWinsAndNegationIsNamed()
    {
        var r = Recommendation.For(Demo(Method("tbar", 0.5, 85, 1), Method("finetune", null, 90, 5), Method("tbar-consistent", 4, 88, 0)));
        Assert.Equal("tbar-consistent", r.Method);
        Assert.True(r.Arithmetic);
        Assert.Contains("negation with α = 4 does the work", r.Text);
    }

    [Fact]
    public void AZeroAlphaRowIsARepairAndTheBestArithmeticRowIsQuoted()
    {
        var r = Recommendation.For(Demo(Method("tbar-refit", 0, 90, 0), Method("tbar", 0.5, 80, 1)));
        Assert.Equal("tbar-refit", r.Method);
        Assert.False(r.Arithmetic);
        Assert.Contains("this is a repair, not TBAR", r.Text);
        Assert.Contains("The best arithmetic row (tbar, α = 0.5) keeps less validation CA (80.00", r.Text);
    }

    [Fact]
    public void NegationFollowedByARefitIsNotCalledNegationAlone()
    {
        var r = Recommendation.For(Demo(Method("tbar-refit", 0.25, 90, 0)));
        Assert.True(r.Arithmetic);
        Assert.Contains("then a re-fit of the readout layers", r.Text);
        Assert.DoesNotContain("does the work", r.Text);
    }

    [Fact]
    public void ARowWhoseBackdoorComesBackIsCalledAMuting()
    {
        var (row, record) = Method("tbar", 0.5, 90, 0);
        var muted = Recommendation.For(Demo((row with { RelapseAsr = 0.8 }, record)));
        Assert.Contains("ASR 80.00", muted.Text);
        Assert.Contains("mutes it rather than removing it", muted.Text);
        var durable = Recommendation.For(Demo((row with { RelapseAsr = 0.02 }, record)));
        Assert.DoesNotContain("Warning", durable.Text);
    }

    [Fact]
    public void WhenNothingWorksOnValidationNothingIsRecommended()
    {
        var r = Recommendation.For(Demo(Method("tbar", 0.5, 90, 3), Method("ga", null, 70, 2)));
        Assert.Null(r.Method);
        Assert.Contains("the lowest was ga (2.00", r.Text);
        Assert.Contains("Do not deploy this model", r.Text);
    }
}
