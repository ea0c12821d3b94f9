namespace Tbar.Models;

/// <summary>
/// The shape of OpenAI's ModifiedResNet image tower (CLIP RN50, RN101, ...; open_clip's <c>vision_cfg.layers</c> list): a stem of
/// three 3×3 convs and a 2×2 average pool, four stages of bottleneck blocks that downsample by average pooling, then
/// attention pooling over the final grid whose output projection gives the embedding.
/// </summary>
/// <param name="ImageSize">Input side in pixels, a multiple of 32, e.g. 224.</param>
/// <param name="Layers">Bottleneck blocks per stage, four numbers, e.g. 3,4,6,3 (RN50).</param>
/// <param name="Width">Stem output width; stage s has 4·Width·2^s output channels, e.g. 64.</param>
/// <param name="Heads">Attention-pool heads, e.g. 32 (open_clip: Width·32 / head_width).</param>
/// <param name="BatchNormEps">BatchNorm epsilon, PyTorch's 1e-5.</param>
public sealed record ModifiedResNetConfig(int ImageSize, IReadOnlyList<int> Layers, int Width, int Heads, double BatchNormEps = 1e-5)
    : ImageTowerConfig(ImageSize)
{
    /// <summary>Bottleneck output channels are 4× the inner width.</summary>
    public const int Expansion = 4;

    /// <summary>OpenAI's RN50 tower at 224 px.</summary>
    public static ModifiedResNetConfig Rn50() => new(224, [3, 4, 6, 3], 64, 32);

    /// <summary>Channels of the final feature map, the attention pool's width (Width · 32).</summary>
    public int FeatureWidth => Width * 32;

    /// <summary>Side of the final feature map (ImageSize / 32).</summary>
    public int Grid => ImageSize / 32;

    public override string Kind => "modified-resnet";

    public override string Summary => $"modified-resnet image {ImageSize} layers {string.Join(",", Layers)} width {Width} heads {Heads}";

    /// <summary>Inner width of stage <paramref name="stage"/>'s bottlenecks (Width · 2^stage).</summary>
    public int StageWidth(int stage) => Width << stage;

    /// <summary>
    /// Whether block <paramref name="block"/> of stage <paramref name="stage"/> has a downsample branch: every stage's first block
    /// changes the channel count (stage 1's from Width to 4·Width too), so it is exactly the first.
    /// </summary>
    public bool HasDownsample(int stage, int block) => block == 0;

    public override IEnumerable<string> TensorNames()
    {
        var names = new List<string>();
        for (int i = 1; i <= 3; i++) names.AddRange([$"conv{i}.weight", .. NormNames($"bn{i}")]);
        for (int s = 0; s < Layers.Count; s++)
            for (int b = 0; b < Layers[s]; b++)
            {
                string block = $"layer{s + 1}.{b}";
                for (int i = 1; i <= 3; i++) names.AddRange([$"{block}.conv{i}.weight", .. NormNames($"{block}.bn{i}")]);
                if (HasDownsample(s, b)) names.AddRange([$"{block}.downsample.0.weight", .. NormNames($"{block}.downsample.1")]);
            }
        names.Add("attnpool.positional_embedding");
        foreach (var p in new[] { "k_proj", "q_proj", "v_proj", "c_proj" }) names.AddRange([$"attnpool.{p}.weight", $"attnpool.{p}.bias"]);
        return names;
    }

    // PyTorch's BatchNorm2d state: two parameters and three buffers (num_batches_tracked is I64).
    static IEnumerable<string> NormNames(string prefix) =>
        new[] { "weight", "bias", "running_mean", "running_var", "num_batches_tracked" }.Select(n => $"{prefix}.{n}");

    public override ImageTower Build(int embedDim) => new ModifiedResNetTower(this, embedDim);

    public override void Validate(string source)
    {
        ClipConfig.Require(Layers.Count == 4, source, $"a ModifiedResNet has 4 stages, 'layers' lists {Layers.Count}");
        ClipConfig.Require(Layers.All(n => n is > 0 and <= 1024) && Width is > 0 and <= 4096 && Heads > 0, source,
            "ModifiedResNet sizes must be positive (≤ 1024 blocks per stage, width ≤ 4096)");
        ClipConfig.Require(ImageSize >= 32 && ImageSize % 32 == 0, source,
            $"a ModifiedResNet needs an image size that is a multiple of 32 (got {ImageSize})");
        ClipConfig.Require(FeatureWidth % Heads == 0, source, $"attention-pool width {FeatureWidth} is not divisible by {Heads} heads");
    }

    /// <summary>Parameters of this tower projecting to <paramref name="embedDim"/> (convs, norms, attention pool), in 64-bit arithmetic.</summary>
    public override long ParameterLowerBound(int embedDim)
    {
        long w = Width, f = FeatureWidth, grid = Grid;
        long stem = 3 * 9 * (w / 2) + 9 * (w / 2) * (w / 2) + 9 * (w / 2) * w;
        long blocks = 0, inWidth = w;
        for (int s = 0; s < Layers.Count; s++)
        {
            long inner = (long)Width << s, outWidth = inner * Expansion;
            // conv1 1×1, conv2 3×3, conv3 1×1; the first block also projects its input.
            long block = inWidth * inner + 9 * inner * inner + inner * outWidth;
            blocks += block + (Layers[s] - 1) * (outWidth * inner + 9 * inner * inner + inner * outWidth) + inWidth * outWidth;
            inWidth = outWidth;
        }
        return stem + blocks + (grid * grid + 1) * f + 3 * f * f + f * embedDim;
    }

    public bool Equals(ModifiedResNetConfig? other) => other != null && ImageSize == other.ImageSize && Width == other.Width
        && Heads == other.Heads && BatchNormEps == other.BatchNormEps && Layers.SequenceEqual(other.Layers);

    public override int GetHashCode() => HashCode.Combine(ImageSize, Width, Heads, Layers.Count);
}
