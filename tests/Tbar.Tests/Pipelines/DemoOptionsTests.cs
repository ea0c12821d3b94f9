using Tbar.Models;
using Tbar.Pipelines;

namespace Tbar.Tests.Pipelines;

/// <summary>The demo's smaller settings apply to a ResNet tower only, and named methods or a smaller limit are kept.</summary>
public class DemoOptionsTests
{
    [Fact]
    public void AViTKeepsTheDefaultDemo()
    {
        var o = new DemoOptions("m");
        Assert.Equal(o, o.ScaledFor(ClipConfig.VitB32().Vision));
    }

    [Fact]
    public void AResNetTowerGetsTheSmallerDemo()
    {
        var o = new DemoOptions("m").ScaledFor(ResNetConfig.Rn18(32));
        Assert.Equal((1, false, DemoOptions.ResNetTrainLimit, DemoOptions.ResNetValSize), (o.AttackEpochs, o.CleanReference, o.TrainLimit, o.ValSize));
        Assert.Equal(DemoOptions.ResNetMethods, o.MethodList);
        Assert.Equal(DemoOptions.ResNetPoisonRate, o.PoisonRate);
    }

    [Fact]
    public void AGivenPoisonRateIsKeptOnAResNetTower() =>
        Assert.Equal(0.05, new DemoOptions("m", PoisonRate: 0.05).ScaledFor(ResNetConfig.Rn18(32)).PoisonRate);

    [Fact]
    public void NamedMethodsAndASmallerLimitAreKept()
    {
        var o = new DemoOptions("m", Methods: ["ga"], TrainLimit: 500).ScaledFor(ResNetConfig.Rn18(32));
        Assert.Equal(["ga"], o.MethodList);
        Assert.Equal(500, o.TrainLimit);
    }
}
