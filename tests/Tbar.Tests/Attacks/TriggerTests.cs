using System.Text.Json;
using Tbar.Attacks;
using static TorchSharp.torch;

namespace Tbar.Tests.Attacks;

public class TriggerTests
{
    static Tensor Images(int b = 4, int h = 28, int w = 28) => rand(b, 3, h, w, generator: new Generator(7));

    [Fact]
    public void BadNetChangesOnlyThePatch()
    {
        using var x = Images();
        using var y = Triggers.Parse("badnet:size=3,loc=br").Apply(x);
        using var mask = ones(1, 1, 28, 28, dtype: ScalarType.Bool);
        mask[.., .., TensorIndex.Slice(25, 28), TensorIndex.Slice(25, 28)] = false;
        Assert.True(x.masked_select(mask).eq(y.masked_select(mask)).all().item<bool>());
        Assert.Equal(1f, y[0, 0, 25, 25].item<float>());
        Assert.Equal(0f, y[0, 0, 25, 26].item<float>());
        Assert.False(x.eq(y).all().item<bool>());
    }

    [Fact]
    public void BlendedIsTheExactMixture()
    {
        using var x = Images();
        var blended = (Blended)Triggers.Parse("blended:ratio=0.25,seed=3");
        using var y = blended.Apply(x);
        using var expected = x * 0.75 + blended.Pattern(28, 28) * 0.25;
        Assert.True(y.allclose(expected, rtol: 0, atol: 1e-7));
    }

    [Fact]
    public void ZeroStrengthWarpIsTheIdentity()
    {
        using var x = Images();
        using var y = Triggers.Parse("wanet:k=4,s=0").Apply(x);
        Assert.True(y.allclose(x, rtol: 0, atol: 1e-5));
        using var warped = Triggers.Parse("wanet:k=4,s=1").Apply(x);
        Assert.False(warped.allclose(x, rtol: 0, atol: 1e-3));
    }

    [Fact]
    public void SigAddsAHorizontalSinusoid()
    {
        using var x = full(1, 3, 8, 16, 0.5f);
        using var y = Triggers.Parse("sig:amp=0.1,freq=2").Apply(x);
        Assert.True(y[0, 0, 0].allclose(y[0, 2, 7]));
        Assert.InRange(y[0, 0, 0, 2].item<float>(), 0.5999f, 0.6001f);   // sin(2π·2·2/16) = 1
    }

    [Theory]
    [InlineData("badnet:size=3")]
    [InlineData("badnet:size=2,pattern=noise,loc=random,seed=5")]
    [InlineData("blended")]
    [InlineData("wanet:k=8,s=0.75,noise=1")]
    [InlineData("sig:amp=0.05,freq=3")]
    public void SpecsRoundTripThroughJson(string spec)
    {
        var trigger = Triggers.Parse(spec);
        string json = JsonSerializer.Serialize(new { trigger = trigger.Spec });
        string back = JsonDocument.Parse(json).RootElement.GetProperty("trigger").GetString()!;
        var again = Triggers.Parse(back);
        Assert.Equal(trigger.Spec, again.Spec);
        using var x = Images(2);
        Assert.True(trigger.Apply(x).eq(again.Apply(x)).all().item<bool>());
    }

    [Theory]
    [InlineData("nonsense", "unknown trigger 'nonsense'")]
    [InlineData("badnet:size=0", "size=0")]
    [InlineData("badnet:colour=red", "unknown option(s) colour")]
    [InlineData("blended:ratio=2", "ratio=2")]
    [InlineData("badnet:size", "not key=value")]
    public void BadSpecsAreClearErrors(string spec, string message)
    {
        Assert.Contains(message, Assert.Throws<TbarException>(() => Triggers.Parse(spec)).Message);
    }

    [Fact]
    public void PatchLargerThanTheImageIsAnError()
    {
        using var x = Images(1, 8, 8);
        var e = Assert.Throws<TbarException>(() => Triggers.Parse("badnet:size=9").Apply(x));
        Assert.Contains("larger than the 8×8 image", e.Message);
    }

    [Fact]
    public void PoisonPlanIsSeededAndAvoidsTheTarget()
    {
        long[] labels = Enumerable.Range(0, 1000).Select(i => (long)(i % 10)).ToArray();
        long[] train = Enumerable.Range(0, 1000).Select(i => (long)i).ToArray();
        var a = PoisonPlan.Draw(train, labels, 3, 0.03, 1);
        Assert.Equal(30, a.Indices.Length);
        Assert.Equal(a.Indices, PoisonPlan.Draw(train, labels, 3, 0.03, 1).Indices);
        Assert.NotEqual(a.Indices, PoisonPlan.Draw(train, labels, 3, 0.03, 2).Indices);
        Assert.DoesNotContain(a.Indices, i => labels[i] == 3);
        var pool = a.CleanPool(train);
        Assert.Equal(train.Except(a.Indices), pool);
        Assert.Equal(970, pool.Length);
        Assert.Throws<TbarException>(() => PoisonPlan.Draw(train, labels, 3, 0, 1));
        Assert.Throws<TbarException>(() => PoisonPlan.Draw(train, labels, 3, 1.5, 1));
    }
}
