using Tbar.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tbar.Tests.Training;

/// <summary>The shared training loop on problems small enough to reason about: schedule, batches, seeds, errors.</summary>
public class TrainLoopTests
{
    [Fact]
    public void TheRateWarmsUpLinearlyThenFollowsACosineToZero()
    {
        var o = new TrainOptions(LearningRate: 1.0, WarmupFraction: 0.1);
        // 100 steps, 10 of warm-up: step k of the warm-up runs at (k + 1) / 10 of the peak.
        Assert.Equal(0.1, o.RateAt(0, 100), 12);
        Assert.Equal(0.5, o.RateAt(4, 100), 12);
        Assert.Equal(1.0, o.RateAt(9, 100), 12);
        // Then cos over the remaining 90 steps: the peak at its start, half of it half-way, nearly 0 at the end.
        Assert.Equal(1.0, o.RateAt(10, 100), 12);
        Assert.Equal(0.5, o.RateAt(55, 100), 12);
        Assert.Equal(0.5 * (1 + Math.Cos(Math.PI * 89 / 90)), o.RateAt(99, 100), 12);
        for (int step = 10; step < 99; step++) Assert.True(o.RateAt(step + 1, 100) < o.RateAt(step, 100), $"step {step}");
    }

    [Fact]
    public void WithoutWarmUpTheFirstStepRunsAtThePeak()
    {
        Assert.Equal(3e-4, new TrainOptions(LearningRate: 3e-4, WarmupFraction: 0).RateAt(0, 50), 15);
    }

    [Theory]
    [InlineData(0, 8, 1e-3, 0.1, "epochs")]
    [InlineData(1, 0, 1e-3, 0.1, "batch size")]
    [InlineData(1, 8, 0.0, 0.1, "learning rate")]
    [InlineData(1, 8, double.NaN, 0.1, "learning rate")]
    [InlineData(1, 8, 1e-3, 1.5, "warm-up fraction")]
    public void BadOptionsAreErrorsNamingTheField(int epochs, int batch, double lr, double warmup, string field)
    {
        var o = new TrainOptions(epochs, batch, lr, WarmupFraction: warmup);
        using var w = new Parameter(zeros(3));
        var e = Assert.Throws<TbarException>(() => TrainLoop.Run([w], 10, o, _ => w.sum()));
        Assert.Contains(field, e.Message);
    }

    [Fact]
    public void AnEmptySetIsAnError()
    {
        using var w = new Parameter(zeros(3));
        var e = Assert.Throws<TbarException>(() => TrainLoop.Run([w], 0, new TrainOptions(), _ => w.sum()));
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void ADivergingLossIsAnErrorThatSaysWhatToChange()
    {
        using var w = new Parameter(zeros(3));
        var e = Assert.Throws<TbarException>(() => TrainLoop.Run([w], 4, new TrainOptions(BatchSize: 2), _ => w.sum() * double.NaN));
        Assert.Contains("lower the learning rate", e.Message);
    }

    [Fact]
    public void EveryEpochVisitsEveryIndexOnceInBatchesOfTheGivenSize()
    {
        var batches = new List<long[]>();
        using var w = new Parameter(zeros(1));
        var result = TrainLoop.RunWithGradients([w], 10, new TrainOptions(Epochs: 3, BatchSize: 4), batch =>
        {
            batches.Add(batch);
            w.grad = ones(1);
            return 1;
        });
        // 10 images in batches of 4: 4 + 4 + 2, three times.
        Assert.Equal(9, result.Steps);
        Assert.Equal(30, result.Images);
        Assert.Equal([4, 4, 2, 4, 4, 2, 4, 4, 2], batches.Select(b => b.Length));
        for (int epoch = 0; epoch < 3; epoch++)
            Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), batches.Skip(3 * epoch).Take(3).SelectMany(b => b).Order());
        Assert.Null(w.grad);
    }

    static List<long> Order(long seed)
    {
        var seen = new List<long>();
        using var w = new Parameter(zeros(1));
        TrainLoop.RunWithGradients([w], 20, new TrainOptions(BatchSize: 5, Seed: seed), batch =>
        {
            seen.AddRange(batch);
            w.grad = ones(1);
            return 1;
        });
        return seen;
    }

    [Fact]
    public void TheSeedFixesTheOrderOfTheExamples()
    {
        Assert.Equal(Order(3), Order(3));
        Assert.NotEqual(Order(3), Order(4));
    }

    [Fact]
    public void EachStepMovesTheParametersByThatStepsRate()
    {
        // AdamW on a constant gradient of 1, no decay and no clipping: every step moves the weight by its rate (to Adam's ε).
        var o = new TrainOptions(Epochs: 2, BatchSize: 3, LearningRate: 0.01, WeightDecay: 0, WarmupFraction: 0.25, ClipNorm: 0);
        using var w = new Parameter(zeros(1));
        var result = TrainLoop.RunWithGradients([w], 12, o, _ =>
        {
            w.grad = ones(1);
            return 0;
        });
        double expected = -Enumerable.Range(0, result.Steps).Sum(step => o.RateAt(step, result.Steps));
        Assert.Equal(expected, w.item<float>(), 5);
    }

    [Fact]
    public void OnlyTheGivenParametersMove()
    {
        using var trained = new Parameter(ones(4));
        using var held = new Parameter(ones(4));
        // The loss depends on both, so both get gradients; only the listed one is stepped.
        TrainLoop.Run([trained], 8, new TrainOptions(Epochs: 2, BatchSize: 4, LearningRate: 0.1),
            _ => (trained * held).pow(2).sum());
        Assert.True(trained.lt(1).all().item<bool>());
        Assert.True(held.eq(1).all().item<bool>());
    }

    [Fact]
    public void TheLossFallsOnAProblemItCanSolve()
    {
        // Fit w to the mean of ten targets: the squared error must end far below where it started.
        using var targets = arange(10, dtype: ScalarType.Float32).view(10, 1).expand(10, 3).contiguous();
        using var w = new Parameter(zeros(3));
        var result = TrainLoop.Run([w], 10, new TrainOptions(Epochs: 40, BatchSize: 5, LearningRate: 0.3, WeightDecay: 0),
            batch => (w - targets.index_select(0, tensor(batch))).pow(2).mean());
        using var start = targets.pow(2).mean();
        Assert.True(result.FinalLoss < start.item<float>() / 3, $"final loss {result.FinalLoss} against {start.item<float>()} at w = 0");
        Assert.InRange(w.mean().item<float>(), 4.0, 5.0);
    }
}
