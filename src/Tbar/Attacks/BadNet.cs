using Tbar.Io;
using static TorchSharp.torch;

namespace Tbar.Attacks;

/// <summary>BadNet: a small patch (checkerboard, seeded noise or an image file) pasted at a corner or a seeded random place.</summary>
public sealed class BadNet : ITrigger
{
    readonly int size, seed;
    readonly string pattern, location, path;

    public BadNet(TriggerSpec s)
    {
        size = s.Int("size", 3, 1, 4096);
        pattern = s.Choice("pattern", "checker", "checker", "noise", "image");
        path = s.Text("path", "");
        location = s.Choice("loc", "br", "br", "bl", "tr", "tl", "random");
        seed = s.Int("seed", 0, 0);
        if (pattern == "image" && (path.Length == 0 || !File.Exists(path)))
            throw new TbarException($"trigger 'badnet': pattern=image needs path=FILE of an existing image (got '{path}')");
        s.RejectUnknown();
    }

    public string Spec => TriggerSpec.Format("badnet", ("size", size), ("pattern", pattern), ("loc", location), ("seed", seed))
        + (pattern == "image" ? $",path={path}" : "");

    /// <summary>The (3, size, size) patch in [0,1].</summary>
    public Tensor Patch()
    {
        if (pattern == "noise") return rand(3, size, size, generator: new Generator((ulong)seed));
        if (pattern == "image") return ImageFile.LoadResized(path, size, size);
        // Checkerboard starting white at the top-left, the same on every channel.
        var ij = arange(size).view(-1, 1) + arange(size).view(1, -1);
        return (ij % 2).eq(0).to(ScalarType.Float32).expand(3, -1, -1).contiguous();
    }

    public Tensor Apply(Tensor images)
    {
        long b = images.shape[0], h = images.shape[2], w = images.shape[3];
        Triggers.RequireFits("badnet", size, h, w);
        using var patch = Patch();
        var output = images.clone();
        var rng = new Random(seed);
        for (long i = 0; i < b; i++)
        {
            var (top, left) = Corner(h, w, rng);
            output[i, .., TensorIndex.Slice(top, top + size), TensorIndex.Slice(left, left + size)] = patch;
        }
        return output;
    }

    (long Top, long Left) Corner(long h, long w, Random rng) => location switch
    {
        "br" => (h - size, w - size),
        "bl" => (h - size, 0),
        "tr" => (0, w - size),
        "tl" => (0, 0),
        _ => (rng.NextInt64(h - size + 1), rng.NextInt64(w - size + 1)),
    };
}
