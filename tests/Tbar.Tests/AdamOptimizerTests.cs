using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tbar.Tests;

/// <summary>Tbar's Adam: TorchSharp's arithmetic bit for bit, without its Scalars left to finalisers.</summary>
public sealed class AdamOptimizerTests
{
    static List<Parameter> Parameters(long seed, int count, int size)
    {
        var g = new Generator((ulong)seed);
        return Enumerable.Range(0, count).Select(_ => new Parameter(randn(size, generator: g))).ToList();
    }

    static void SetGradients(IList<Parameter> ps, long seed, int step)
    {
        var g = new Generator((ulong)(seed * 1000 + step));
        for (int i = 0; i < ps.Count; i++)
            // The last parameter has no gradient on odd steps: its moments and step count must stay put then.
            ps[i].grad = i == ps.Count - 1 && step % 2 == 1 ? null : randn(ps[i].shape, generator: g);
    }

    [Theory]
    [InlineData(true, 0.1)]
    [InlineData(true, 0.0)]
    [InlineData(false, 0.0)]
    [InlineData(false, 0.05)]
    public void StepsAreTheBitsOfTorchSharpsOwn(bool decoupled, double weightDecay)
    {
        var ours = Parameters(3, 4, 37);
        var theirs = Parameters(3, 4, 37);
        using var mine = decoupled ? AdamOptimizer.W(ours, 1e-2, weightDecay) : AdamOptimizer.Plain(ours, 1e-2, weightDecay);
        using optim.Optimizer reference = decoupled ? optim.AdamW(theirs, 1e-2, weight_decay: weightDecay)
            : optim.Adam(theirs, 1e-2, weight_decay: weightDecay);
        double[] rates = [1e-2, 3e-3, 5e-2, 1e-3, 2e-2, 7e-3];
        for (int step = 0; step < rates.Length; step++)
        {
            SetGradients(ours, 11, step);
            SetGradients(theirs, 11, step);
            mine.LearningRate = rates[step];
            foreach (var group in reference.ParamGroups) group.LearningRate = rates[step];
            mine.Step();
            reference.step();
        }
        for (int i = 0; i < ours.Count; i++)
            Assert.True(ours[i].equal(theirs[i]).all().item<bool>(),
                $"parameter {i} differs by {(ours[i] - theirs[i]).abs().max().item<float>():G3}");
        // And the steps moved the weights: equal because both moved the same way, not because neither moved.
        var start = Parameters(3, 4, 37);
        Assert.False(ours[0].equal(start[0]).all().item<bool>());
    }

    [Fact]
    public void ZeroGradZeroesTheGradientsAndLeavesMissingOnesMissing()
    {
        var ps = Parameters(5, 2, 8);
        ps[0].grad = ones(8);
        using var adam = AdamOptimizer.W(ps, 1e-3, 0.1);
        adam.ZeroGrad();
        Assert.Equal(0f, ps[0].grad!.abs().sum().item<float>());
        Assert.Null(ps[1].grad);
    }

    [Fact]
    public void BadSettingsAreRefused()
    {
        var ps = Parameters(5, 1, 4);
        Assert.Throws<ArgumentOutOfRangeException>(() => AdamOptimizer.W(ps, double.NaN, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => AdamOptimizer.W(ps, 1e-3, -1));
    }

    /// <summary>
    /// Another thread forcing collections while the steps run: a Scalar left to its finaliser is freed during the native call
    /// that reads it, and libtorch stops with "Expected false to be true". TorchSharp's AdamW fails most steps of this loop.
    /// </summary>
    [Fact]
    public void StepsSurviveCollectionsOnAnotherThread()
    {
        var ps = Parameters(7, 100, 2000);
        foreach (var p in ps) p.grad = randn(2000);
        using var adam = AdamOptimizer.W(ps, 1e-3, 0.1);
        var (failures, first) = CollectingThread.Run(150, adam.Step);
        Assert.True(failures == 0, $"{failures} of 150 steps failed: {first}");
    }
}
