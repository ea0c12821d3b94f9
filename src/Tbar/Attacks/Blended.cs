using Tbar.Io;
using static TorchSharp.torch;

namespace Tbar.Attacks;

/// <summary>Blended: (1 − ratio)·x + ratio·pattern, the pattern seeded noise or an image file resized to the input.</summary>
public sealed class Blended : ITrigger
{
    readonly double ratio;
    readonly int seed;
    readonly string pattern, path;

    public Blended(TriggerSpec s)
    {
        ratio = s.Number("ratio", 0.2, 0, 1);
        pattern = s.Choice("pattern", "noise", "noise", "image");
        path = s.Text("path", "");
        seed = s.Int("seed", 0, 0);
        if (pattern == "image" && (path.Length == 0 || !File.Exists(path)))
            throw new TbarException($"trigger 'blended': pattern=image needs path=FILE of an existing image (got '{path}')");
        s.RejectUnknown();
    }

    public string Spec => TriggerSpec.Format("blended", ("ratio", ratio), ("pattern", pattern), ("seed", seed))
        + (pattern == "image" ? $",path={path}" : "");

    /// <summary>The (3, H, W) blend pattern in [0,1].</summary>
    public Tensor Pattern(long h, long w)
    {
        if (pattern == "noise") return rand(3, h, w, generator: new Generator((ulong)seed));
        return ImageFile.LoadResized(path, h, w);
    }

    public Tensor Apply(Tensor images)
    {
        using var p = Pattern(images.shape[2], images.shape[3]);
        return images * (1 - ratio) + p * ratio;
    }
}
