namespace Tbar.Models;

/// <summary>
/// The shape of a ResNet image tower of basic blocks as CNTK exports them (the ImageNet ResNet in ML.NET's ResNet18
/// package): a 7×7/2 stem and a 3×3/2 max-pool, stages of two-conv blocks, 1×1/2 projection shortcuts, global average
/// pooling, then a linear projection. Begin and end paddings differ on every stride-2 layer, as in the export.
/// </summary>
/// <param name="ImageSize">Working side in pixels; inputs of another side are resized to it bilinearly, e.g. 64.</param>
/// <param name="Blocks">Basic blocks per stage, e.g. 2,2,2,3 (the package's network).</param>
/// <param name="Widths">Channels per stage, e.g. 64,128,256,512.</param>
/// <param name="BatchNormEps">BatchNorm epsilon, 1e-5 in the export.</param>
public sealed record ResNetConfig(int ImageSize, IReadOnlyList<int> Blocks, IReadOnlyList<int> Widths, double BatchNormEps = 1e-5)
    : ImageTowerConfig(ImageSize)
{
    /// <summary>The network in Microsoft.ML.DnnImageFeaturizer.ResNet18 at the given working side.</summary>
    public static ResNetConfig Rn18(int imageSize) => new(imageSize, [2, 2, 2, 3], [64, 128, 256, 512]);

    /// <summary>Width of the pooled feature the projection reads.</summary>
    public int FeatureWidth => Widths[^1];

    public override string Kind => "resnet";

    public override string Summary => $"resnet image {ImageSize} blocks {string.Join(",", Blocks)} widths {string.Join(",", Widths)}";

    public override IEnumerable<string> TensorNames()
    {
        var names = ConvBnNames("stem").ToList();
        for (int s = 0; s < Blocks.Count; s++)
            for (int b = 0; b < Blocks[s]; b++)
            {
                string block = $"layer{s + 1}.{b}";
                names.AddRange(ConvBnNames(block + ".conv1").Concat(ConvBnNames(block + ".conv2")));
                if (HasShortcut(s, b)) names.AddRange(ConvBnNames(block + ".shortcut"));
            }
        names.Add("proj");
        return names;
    }

    static IEnumerable<string> ConvBnNames(string prefix) =>
        new[] { "conv.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var" }.Select(n => $"{prefix}.{n}");

    /// <summary>Whether block <paramref name="block"/> of stage <paramref name="stage"/> changes shape (stride 2 and a 1×1 shortcut).</summary>
    public bool HasShortcut(int stage, int block) => block == 0 && stage > 0;

    public override ImageTower Build(int embedDim) => new ResNetTower(this, embedDim);

    public override void Validate(string source)
    {
        ClipConfig.Require(ImageSize >= 32, source, $"a ResNet tower needs inputs of at least 32 px (got {ImageSize})");
        ClipConfig.Require(Blocks.Count == Widths.Count && Blocks.Count > 0, source, "ResNet blocks and widths must list the same stages");
        ClipConfig.Require(Blocks.All(b => b > 0) && Widths.All(w => w > 0), source, "ResNet sizes must be positive");
    }

    public bool Equals(ResNetConfig? other) => other != null && ImageSize == other.ImageSize && BatchNormEps == other.BatchNormEps
        && Blocks.SequenceEqual(other.Blocks) && Widths.SequenceEqual(other.Widths);

    public override int GetHashCode() => HashCode.Combine(ImageSize, Blocks.Count, Widths[^1]);
}
