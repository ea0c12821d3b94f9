using Microsoft.ML.OnnxRuntime;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using Tbar.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Tbar.Tests.Models;

/// <summary>A fact that is skipped, with the reason, when the ResNet18 package's ONNX file was not restored.</summary>
public sealed class ResNetPackageFactAttribute : FactAttribute
{
    public ResNetPackageFactAttribute()
    {
        if (ResNetOnnx.NetworkPath == null || ResNetOnnx.PreprocessPath == null)
            Skip = "Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1 not in the NuGet packages folder (dotnet restore src/Tbar brings it)";
    }
}

/// <summary>The imported ResNet tower against OnnxRuntime running the package's own ONNX network (≤ 1e-4 absolute).</summary>
public class ResNetParityTests(ITestOutputHelper output)
{
    const double Tolerance = 1e-4;

    [ResNetPackageFact]
    public void FeaturesMatchOnnxRuntimeAt224()
    {
        using var tower = new ResNetTower(ResNetConfig.Rn18(224), 8);
        ResNetOnnx.Import(tower, ResNetOnnx.NetworkPath!);
        tower.eval();
        var pre = ResNetOnnx.Preprocess(224, ResNetOnnx.ChannelMeanRgb(ResNetOnnx.PreprocessPath!));
        using var session = new InferenceSession(ResNetOnnx.NetworkPath!);
        double worst = 0;
        for (int seed = 0; seed < 2; seed++)
        {
            // (1, 3, 224, 224) RGB in [0,1] → the tower's input; the network reads the same values in BGR order.
            using var rgb = rand(1, 3, 224, 224, generator: new Generator((ulong)seed));
            using var input = Preprocess.Normalize(rgb, pre);
            using var ours = Features(tower, input);
            using var theirs = RunOnnx(session, input.flip(1));
            worst = Math.Max(worst, (ours - theirs).abs().max().item<float>());
        }
        output.WriteLine($"max |tower − onnxruntime| over 2×512 features: {worst:E2}");
        Assert.True(worst <= Tolerance, $"max abs difference {worst:E2} > {Tolerance}");
    }

    [ResNetPackageFact]
    public void AnySideFromThirtyTwoGivesOneFeatureVector()
    {
        using var tower = new ResNetTower(ResNetConfig.Rn18(32), 8);
        using var x = randn(2, 3, 28, 28);
        using var guard = no_grad();
        using var y = tower.Features(x);
        Assert.Equal([2L, 512L], y.shape);
    }

    [ResNetPackageFact]
    public void MeanImageIsNearlyConstantPerChannel()
    {
        var mean = ResNetOnnx.ChannelMeanRgb(ResNetOnnx.PreprocessPath!);
        output.WriteLine($"channel means (RGB, 0–255): {string.Join(", ", mean.Select(m => m.ToString("F3")))}");
        Assert.All(mean, m => Assert.InRange(m, 90f, 140f));
    }

    static Tensor Features(ResNetTower tower, Tensor input)
    {
        using var guard = no_grad();
        return tower.Features(input);
    }

    static Tensor RunOnnx(InferenceSession session, Tensor bgr)
    {
        var data = bgr.contiguous().data<float>().ToArray();
        var input = new DenseTensor(data, [1, 3, 224, 224]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(session.InputMetadata.Keys.Single(), input)]);
        return tensor(results.First().AsTensor<float>().ToArray()).view(1, -1);
    }
}
