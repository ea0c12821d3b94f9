using Tbar.Io;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Tbar.Models;

/// <summary>Image normalisation of a CLIP model: input side, per-channel mean and std (CLIP's defaults when absent).</summary>
/// <param name="ImageSize">Input side in pixels, e.g. 224.</param>
/// <param name="Mean">Per-channel mean of [0,1] pixels.</param>
/// <param name="Std">Per-channel std of [0,1] pixels.</param>
public sealed record PreprocessConfig(int ImageSize, float[] Mean, float[] Std)
{
    public static readonly float[] ClipMean = [0.48145466f, 0.4578275f, 0.40821073f];
    public static readonly float[] ClipStd = [0.26862954f, 0.26130258f, 0.27577711f];

    /// <summary>CLIP's mean/std at the given side.</summary>
    public static PreprocessConfig Clip(int imageSize) => new(imageSize, ClipMean, ClipStd);

    public bool Equals(PreprocessConfig? other) =>
        other != null && ImageSize == other.ImageSize && Mean.SequenceEqual(other.Mean) && Std.SequenceEqual(other.Std);

    public override int GetHashCode() => HashCode.Combine(ImageSize, Mean[0], Std[0]);
}

/// <summary>CLIP's image transform: resize short side (bicubic, antialiased), centre crop, normalise.</summary>
public static class Preprocess
{
    /// <summary>(3,H,W) or (B,3,H,W) in [0,1] → same rank, normalised at S×S.</summary>
    public static Tensor Apply(Tensor image01, PreprocessConfig config)
    {
        using var scope = NewDisposeScope();
        var resized = ResizeShortSide(image01, config.ImageSize);
        return Normalize(CenterCrop(resized, config.ImageSize), config).MoveToOuterDisposeScope();
    }

    /// <summary>Decodes a file and applies <see cref="Apply"/>: (3,S,S).</summary>
    public static Tensor LoadFile(string path, PreprocessConfig config)
    {
        using var image = ImageFile.LoadRgb(path);
        return Apply(image, config);
    }

    /// <summary>A file as (3, S, S) uint8: short side resized to S (bicubic, antialiased), centre-cropped (dataset storage).</summary>
    public static Tensor LoadSquareBytes(string path, int size)
    {
        using var scope = NewDisposeScope();
        var image = CenterCrop(ResizeShortSide(ImageFile.LoadRgb(path), size), size);
        return image.mul(255).round().to(ScalarType.Byte).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Short side to <paramref name="size"/>, long side floor(size·long/short), bicubic with antialiasing when shrinking
    /// (what PIL/torchvision do); an image already at that size is returned unchanged.
    /// </summary>
    public static Tensor ResizeShortSide(Tensor image01, int size)
    {
        long h = image01.shape[^2], w = image01.shape[^1];
        long shortSide = Math.Min(h, w), longSide = Math.Max(h, w);
        long newLong = size * longSide / shortSide;
        long newH = h <= w ? size : newLong, newW = h <= w ? newLong : size;
        if (newH == h && newW == w) return image01.alias();
        using var scope = NewDisposeScope();
        bool single = image01.dim() == 3;
        var batch = single ? image01.unsqueeze(0) : image01;
        var resized = F.interpolate(batch, [newH, newW], mode: InterpolationMode.Bicubic, align_corners: false, antialias: true)
            .clamp(0, 1);
        return (single ? resized.squeeze(0) : resized).MoveToOuterDisposeScope();
    }

    /// <summary>Central S×S window; offsets round((h−S)/2) half-to-even, as torchvision's CenterCrop.</summary>
    public static Tensor CenterCrop(Tensor image, int size)
    {
        long h = image.shape[^2], w = image.shape[^1];
        if (h < size || w < size) throw new TbarException($"cannot centre-crop {size}×{size} from a {h}×{w} image");
        long top = (long)Math.Round((h - size) / 2.0), left = (long)Math.Round((w - size) / 2.0);
        int dim = (int)image.dim();
        return image.narrow(dim - 2, top, size).narrow(dim - 1, left, size);
    }

    /// <summary>(x − mean) / std per channel; (3,H,W) or (B,3,H,W).</summary>
    public static Tensor Normalize(Tensor image01, PreprocessConfig config)
    {
        using var mean = tensor(config.Mean).view(3, 1, 1);
        using var std = tensor(config.Std).view(3, 1, 1);
        return (image01 - mean).div_(std);
    }
}
