using Tbar.Arithmetic;
using Tbar.Models;
using static TorchSharp.torch;

namespace Tbar.Tests.Arithmetic;

public class TaskVectorTests : TempFolder
{
    static Clip TinyClip(long seed)
    {
        var config = new ClipConfig(8, new VisionConfig(8, 4, 16, 1, 2, 32, Activation.QuickGelu),
            new TextConfig(6, 20, 16, 1, 2, 32, Activation.QuickGelu, TextPooling.Argmax), PreprocessConfig.Clip(8));
        var clip = new Clip(config);
        clip.InitializeRandom(seed);
        return clip;
    }

    static TaskVector RandomVector(Clip model, long seed)
    {
        var g = new Generator((ulong)seed);
        return new TaskVector(model.Visual.named_parameters().ToDictionary(p => "visual." + p.name, p => randn(p.parameter.shape, generator: g)));
    }

    [Fact]
    public void ApplyAtZeroIsIdentityAndRestoreIsBitExact()
    {
        using var model = TinyClip(1);
        var original = model.Parameters().ToDictionary(p => p.Key, p => p.Value.detach().clone());
        using var tau = RandomVector(model, 2);
        using var edit = new WeightEdit(model, tau);
        edit.Set(0);
        AssertSame(original, model);
        foreach (var alpha in new[] { -1.7, 0.3, 2.5, -0.01 }) edit.Set(alpha);
        Assert.False(model.Parameters()["visual.proj"].eq(original["visual.proj"]).all().item<bool>());
        edit.Restore();
        AssertSame(original, model);
    }

    [Fact]
    public void SetIsBasePlusAlphaTau()
    {
        using var model = TinyClip(1);
        var before = model.Parameters()["visual.conv1.weight"].detach().clone();
        using var tau = RandomVector(model, 3);
        using var edit = new WeightEdit(model, tau);
        edit.Set(-0.5);
        Assert.True(model.Parameters()["visual.conv1.weight"].allclose(before - 0.5 * tau["visual.conv1.weight"]));
    }

    [Fact]
    public void BetweenAndArithmeticAgree()
    {
        using var a = TinyClip(1);
        using var b = TinyClip(2);
        var keys = a.Visual.named_parameters().Select(p => "visual." + p.name).ToList();
        using var tau = TaskVector.Between(a.Parameters().ToDictionary(p => p.Key, p => (Tensor)p.Value), b.Parameters().ToDictionary(p => p.Key, p => (Tensor)p.Value), keys);
        using var twice = tau + tau;
        using var scaled = 2.0 * tau;
        using var zero = tau - tau;
        Assert.True(twice["visual.proj"].allclose(scaled["visual.proj"]));
        Assert.Equal(0, zero.Norm());
        Assert.Equal(tau.Norm(), (-tau).Norm(), 5);
    }

    [Fact]
    public void MetadataAndValuesRoundTripThroughSafetensors()
    {
        using var model = TinyClip(1);
        using var tau = new TaskVector(RandomVector(model, 4).Keys.ToDictionary(k => k, k => model.Parameters()[k].detach().clone()),
            new Dictionary<string, string> { ["trigger"] = "badnet:size=3", ["forget_size"] = "2000", ["lr"] = "1E-05" });
        string path = Path.Combine(temp, "tau.safetensors");
        tau.Save(path);
        using var back = TaskVector.Load(path);
        Assert.Equal(tau.Metadata, back.Metadata);
        Assert.Equal(tau.Keys, back.Keys);
        foreach (var k in tau.Keys) Assert.True(tau[k].eq(back[k]).all().item<bool>());
    }

    [Fact]
    public void VectorsOfAnotherArchitectureOrWithNaNAreRejected()
    {
        using var model = TinyClip(1);
        using var stranger = new TaskVector(new Dictionary<string, Tensor> { ["visual.unknown"] = zeros(2) });
        Assert.Contains("does not exist in the model", Assert.Throws<TbarException>(() => new WeightEdit(model, stranger)).Message);
        using var misshaped = new TaskVector(new Dictionary<string, Tensor> { ["visual.proj"] = zeros(3, 3) });
        Assert.Contains("has shape [3,3]", Assert.Throws<TbarException>(() => new WeightEdit(model, misshaped)).Message);
        var nan = zeros(model.Parameters()["visual.proj"].shape);
        nan[0, 0] = float.NaN;
        using var bad = new TaskVector(new Dictionary<string, Tensor> { ["visual.proj"] = nan });
        Assert.Contains("NaN", Assert.Throws<TbarException>(() => new WeightEdit(model, bad)).Message);
        using var other = new TaskVector(new Dictionary<string, Tensor> { ["visual.proj"] = zeros(1) });
        Assert.Throws<TbarException>(() => stranger + other);
    }

    static void AssertSame(Dictionary<string, Tensor> expected, Clip model)
    {
        foreach (var (k, p) in model.Parameters()) Assert.True(expected[k].eq(p).all().item<bool>(), k);
    }
}
