using Tbar.Io;
using static TorchSharp.torch;

namespace Tbar.Attacks;

/// <summary>Blended: (1 − ratio)·x + ratio·pattern, the pattern seeded noise or an image file resized to the input.</summary>
public sealed class Blended : ITrigger, IDisposable
{
    readonly double ratio;
    readonly int seed;
    readonly string pattern, path;
    readonly Tensor? image;   // the decoded pattern file (3, H0, W0), read once
    readonly Dictionary<(long, long), Tensor> patterns = [];   // the pattern at each input size, made once

    public Blended(TriggerSpec s)
    {
        ratio = s.Number("ratio", 0.2, 0, 1);
        pattern = s.Choice("pattern", "noise", "noise", "image");
        path = s.Text("path", "");
        seed = s.Int("seed", 0, 0);
        if (pattern == "image" && (path.Length == 0 || !File.Exists(path)))
            throw new TbarException($"trigger spec '{s.Source}': pattern=image needs path=FILE of an existing image (got '{path}')");
        s.RejectUnknown();
        if (pattern == "image") image = ImageFile.LoadRgb(path);
    }

    public string Spec => TriggerSpec.Format("blended", ("ratio", ratio), ("pattern", pattern), ("seed", seed))
        + (pattern == "image" ? $",path={path}" : "");

    /// <summary>The (3, H, W) blend pattern in [0,1] (a copy).</summary>
    public Tensor Pattern(long h, long w) => Cached(h, w).clone();

    Tensor Cached(long h, long w)
    {
        lock (patterns)
        {
            if (!patterns.TryGetValue((h, w), out var p))
            {
                // Made on first use, maybe inside a caller's dispose scope: detached, so the cache outlives that scope.
                p = image is null ? Compute.FromCpu(() => rand(3, h, w, generator: new Generator((ulong)seed))) : ImageFile.Resize(image, h, w);
                patterns[(h, w)] = p.DetachFromDisposeScope();
            }
            return p;
        }
    }

    public Tensor Apply(Tensor images) => images * (1 - ratio) + Cached(images.shape[2], images.shape[3]) * ratio;

    public void Dispose()
    {
        image?.Dispose();
        foreach (var p in patterns.Values) p.Dispose();
    }
}
