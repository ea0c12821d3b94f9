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
        Assert.Contains("negation with α = 4;", r.Text);
    }

    [Fact]
    public void AZeroAlphaRowIsARepairAndTheBestArithmeticRowIsQuoted()
    {
        var r = Recommendation.For(Demo(Method("tbar-refit", 0, 90, 0), Method("tbar", 0.5, 80, 1)));
        Assert.Equal("tbar-refit", r.Method);
        Assert.False(r.Arithmetic);
        Assert.Contains("so it is a repair, not TBAR", r.Text);
        Assert.Contains("The best arithmetic row (tbar, α = 0.5) has validation CA 80.00", r.Text);
    }

    [Fact]
    public void NegationFollowedByARefitIsNotCalledNegationAlone()
    {
        var r = Recommendation.For(Demo(Method("tbar-refit", 0.25, 90, 0)));
        Assert.True(r.Arithmetic);
        Assert.Contains("negation with α = 0.25 and a re-fit", r.Text);
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

    [Fact]
    public void ARowThatRelapsesIsNotChosenWhileADurableOneRemovesTheBackdoor()
    {
        var (relapsing, r1) = Method("tbar-refit", 0, 95, 0);
        var (durable, r2) = Method("tbar-consistent", 4.7, 90, 0);
        var r = Recommendation.For(Demo((relapsing with { DurabilityAsr = 0.40 }, r1), (durable with { DurabilityAsr = 0.03 }, r2)));
        Assert.Equal("tbar-consistent", r.Method);
        Assert.Contains("Passed over for relapsing: tbar-refit", r.Text);
        // With no durable row, the highest validation CA wins, and the text says it mutes.
        var none = Recommendation.For(Demo((relapsing with { DurabilityAsr = 0.40 }, r1), (durable with { DurabilityAsr = 0.30 }, r2)));
        Assert.Equal("tbar-refit", none.Method);
        Assert.Contains("no candidate that removes the backdoor is durable", none.Text);
    }

    [Fact]
    public void ADurableRowThatReLearnsTheTriggerFromAFewImagesIsPassedOver()
    {
        var (primed, r1) = Method("ft-relabel", null, 95, 0);
        var (resistant, r2) = Method("tbar-consistent+pam:0.25", 4.7, 93, 0);
        var (muted, r3) = Method("tbar", 2, 96, 0);
        TestRow With(TestRow row, double durability, double? retune) => row with { DurabilityAsr = durability, RetuneCheckAsr = retune };
        var r = Recommendation.For(Demo((With(primed, 0.02, 0.86), r1), (With(resistant, 0.01, 0.09), r2), (With(muted, 0.7, 0.99), r3)));
        Assert.Equal("tbar-consistent+pam:0.25", r.Method);
        Assert.Contains("Passed over for re-learning the trigger from a few images: ft-relabel (validation CA 95.00", r.Text);
        Assert.Contains("but ASR 86.00", r.Text);
        Assert.Contains("Passed over for relapsing: tbar", r.Text);
        Assert.Contains("labelled with the target its validation ASR is 9.00", r.Text);
        Assert.Contains("(the lowest among the candidates in the running)", r.Text);
        // Within the margin of the lowest, validation CA decides again; a row whose re-tune was not measured stays in the running.
        Assert.Equal("ft-relabel", Recommendation.For(Demo((With(primed, 0.02, 0.18), r1), (With(resistant, 0.01, 0.09), r2))).Method);
        Assert.Equal("ft-relabel", Recommendation.For(Demo((With(primed, 0.02, null), r1), (With(resistant, 0.01, 0.09), r2))).Method);
        // The re-tune check ranks only the durable rows: a relapsing row's low re-tune ASR does not raise the bar's floor.
        Assert.Equal("ft-relabel", Recommendation.For(Demo((With(primed, 0.02, 0.86), r1), (With(muted, 0.7, 0.01), r3))).Method);
    }

    [Fact]
    public void TheChoiceDoesNotMoveWhenTheTestSplitIsScrambled()
    {
        var a = Method("tbar", 0.5, 85, 1);
        var b = Method("tbar-consistent", 4, 88, 0);
        var c = Method("ft-relabel", null, 91, 0);
        var rows = new[] { (a.Row with { DurabilityAsr = 0.5 }, a.Record), (b.Row with { DurabilityAsr = 0.02 }, b.Record),
            (c.Row with { DurabilityAsr = 0.2 }, c.Record) };
        var chosen = Recommendation.For(Demo(rows)).Method;
        // Test numbers and the test-split relapse shuffled between rows (and made extreme): validation decides alone.
        var scrambled = rows.Select((x, i) => (x.Item1 with
        {
            Test = Samples.Metrics([1 + i, 9 - i, 2 * i], 3 - i, 19), RelapseAsr = i == 1 ? 0.99 : 0.0,
        }, x.Record)).ToArray();
        Assert.Equal("tbar-consistent", chosen);
        Assert.Equal(chosen, Recommendation.For(Demo(scrambled)).Method);
    }
}
