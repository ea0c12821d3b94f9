using Tbar.Models;
using Tbar.Training;
using static TorchSharp.torch;

namespace Tbar.Tests.Training;

/// <summary>
/// The tangent-space machinery on tiny towers (a ViT and a BatchNorm ResNet), in float64 where differences are checked. It
/// switches libtorch's process-wide default dtype while building a float64 tower, so it runs alone, never beside a test that
/// builds a model (which would then be built in float64).
/// </summary>
[Collection("libtorch settings")]
public class LinearisationTests
{
    static Clip Vit(long seed)
    {
        var config = new ClipConfig(8, new VisionConfig(8, 4, 16, 2, 2, 32, Activation.QuickGelu),
            new TextConfig(6, 20, 16, 1, 2, 32, Activation.QuickGelu, TextPooling.Argmax), PreprocessConfig.Clip(8));
        var clip = new Clip(config);
        clip.InitializeRandom(seed);
        return clip;
    }

    static Clip ResNet(long seed)
    {
        var config = new ClipConfig(8, new ResNetConfig(32, [1, 1], [16, 16]),
            new TextConfig(6, 20, 16, 1, 2, 32, Activation.QuickGelu, TextPooling.Argmax), ResNetOnnx.Preprocess(32, [120f, 115f, 105f]));
        var clip = new Clip(config);
        clip.InitializeRandom(seed);
        using var guard = no_grad();
        foreach (var (_, buffer) in clip.named_buffers()) buffer.copy_(rand(buffer.shape, generator: new Generator(7)) + 0.5);
        return clip;
    }

    static Clip Tower(string kind) => kind == "vit" ? Vit(1) : ResNet(1);

    /// <summary>The tower built in float64 (a module's own conversion leaves its cached tensor fields behind).</summary>
    static Clip Tower64(string kind)
    {
        var previous = get_default_dtype();
        set_default_dtype(ScalarType.Float64);
        try
        {
            return Tower(kind);
        }
        finally
        {
            set_default_dtype(previous);
        }
    }

    static Tensor Images(Clip model, int n, ScalarType type) =>
        randn([n, 3, model.Config.Vision.ImageSize, model.Config.Vision.ImageSize], generator: new Generator(11)).to_type(type);

    static List<Tensor> Direction(Linearisation lin, double scale, ScalarType type)
    {
        var g = new Generator(5);
        return lin.Parameters.Select(p => (randn(p.Parameter.shape, generator: g) * scale).to_type(type)).ToList();
    }

    static Tensor Forward(Clip model, Tensor x)
    {
        using var guard = no_grad();
        model.eval();
        return model.EncodeImage(x);
    }

    [Theory]
    [InlineData("vit")]
    [InlineData("resnet")]
    public void TheDoubleBackwardJvpMatchesCentralDifferences(string kind)
    {
        using var model = Tower64(kind);
        var lin = new Linearisation(model.Visual);
        using var x = Images(model, 4, ScalarType.Float64);
        var delta = Direction(lin, 1.0, ScalarType.Float64);
        var (_, jvp) = lin.Jvp(x, delta);
        // Small enough that the step crosses (almost) no ReLU kink; float64 keeps the rounding error near 1e-9.
        const double eps = 1e-7;
        Tensor At(double s)
        {
            using (no_grad()) foreach (var ((_, p), d) in lin.Parameters.Zip(delta)) p.add_(d, s);
            var y = Forward(model, x);
            using (no_grad()) foreach (var ((_, p), d) in lin.Parameters.Zip(delta)) p.add_(d, -s);
            return y;
        }
        using var plus = At(eps);
        using var minus = At(-eps);
        using var difference = (plus - minus) / (2 * eps);
        double error = (difference - jvp).norm().item<double>() / jvp.norm().item<double>();
        Assert.True(jvp.norm().item<double>() > 0, "J·Δ is zero");
        Assert.True(error < 1e-6, $"{kind}: |FD − JVP| / |JVP| = {error:G3}");
    }

    [Theory]
    [InlineData("vit")]
    [InlineData("resnet")]
    public void TheVjpIsTheGradientOfTheOutputAgainstTheCotangent(string kind)
    {
        using var model = Tower64(kind);
        var lin = new Linearisation(model.Visual);
        using var x = Images(model, 3, ScalarType.Float64);
        using var cotangent = randn([3, model.Config.EmbedDim], generator: new Generator(3)).to_type(ScalarType.Float64);
        var vjp = lin.Vjp(x, cotangent);
        model.eval();
        using var y = model.EncodeImage(x);
        var expected = autograd.grad([(y * cotangent).sum()], lin.Parameters.Select(p => (Tensor)p.Parameter).ToList());
        for (int i = 0; i < vjp.Length; i++)
            Assert.True(vjp[i].allclose(expected[i], rtol: 1e-9, atol: 1e-12), $"{lin.Parameters[i].Name} differs");
    }

    [Fact]
    public void AtZeroTheLinearisedOutputIsTheTowersOwnAndTheWeightsDoNotMove()
    {
        using var model = ResNet(2);
        var lin = new Linearisation(model.Visual);
        using var x = Images(model, 4, ScalarType.Float32);
        var before = lin.Parameters.Select(p => p.Parameter.detach().clone()).ToList();
        var zero = lin.Parameters.Select(p => zeros_like(p.Parameter)).ToList();
        Tensor? seen = null;
        var (_, grads) = lin.Step(x, zero, (linear, baseOutput) =>
        {
            seen = linear.detach().clone().DetachFromDisposeScope();
            return (linear - baseOutput).square().sum();
        });
        using var direct = Forward(model, x);
        Assert.True(seen!.eq(direct).all().item<bool>(), "f_lin(θ_b) differs from f(θ_b)");
        Assert.All(grads, g => Assert.Equal(0, g.abs().max().item<float>()));
        Assert.All(lin.Parameters.Zip(before), p => Assert.True(p.First.Parameter.eq(p.Second).all().item<bool>(), $"{p.First.Name} moved"));
    }

    [Fact]
    public void PlainAttentionEqualsTheFusedKernel()
    {
        using var model = Vit(4);
        using var x = Images(model, 3, ScalarType.Float32);
        using var fused = Forward(model, x);
        Tensor plain;
        using (AttentionMath.Plain()) plain = Forward(model, x);
        Assert.False(AttentionMath.PlainActive);
        double error = (plain - fused).abs().max().item<float>();
        Assert.True(error < 1e-6, $"plain vs fused attention: {error:G3}");
        plain.Dispose();
    }
}
