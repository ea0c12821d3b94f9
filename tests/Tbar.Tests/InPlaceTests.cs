using static TorchSharp.torch;

namespace Tbar.Tests;

/// <summary>Tbar's in-place sum: TorchSharp's <c>add_</c> bit for bit, with its scale held for the native call.</summary>
public sealed class InPlaceTests
{
    [Theory]
    [InlineData(1.0)]
    [InlineData(-0.37)]
    [InlineData(1e-7)]
    public void AddGivesTorchSharpsSumBitForBitAndReturnsItsTarget(double alpha)
    {
        var g = new Generator(11);
        using var a = randn(257, 3, generator: g);
        using var b = randn(257, 3, generator: g);
        using var expected = a.clone().add_(b, alpha);
        using var target = a.clone();
        var returned = InPlace.Add(target, b, alpha);
        Assert.Same(target, returned);
        Assert.True(expected.eq(target).all().item<bool>());
        Assert.False(a.eq(target).all().item<bool>());
    }

    [Fact]
    public void AddSurvivesCollectionsOnAnotherThread()
    {
        using var target = zeros(64);
        using var one = ones(64);
        const int calls = 20_000;
        var (failures, first) = CollectingThread.Run(calls, () => InPlace.Add(target, one, 0.5));
        Assert.True(failures == 0, $"{failures} of {calls} calls failed: {first}");
        Assert.Equal(calls * 0.5, target[0].item<float>());
    }
}
