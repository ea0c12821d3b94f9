using Tbar.Io;
using static TorchSharp.torch;

namespace Tbar.Attacks;

/// <summary>
/// BadNet: a small patch (checkerboard, seeded noise, an image file or a given tensor) pasted at a corner, or at a place
/// drawn per image from (seed, image id).
/// </summary>
public sealed class BadNet : ITrigger, IDisposable
{
    readonly int size, seed;
    readonly string location, spec;
    readonly Tensor patch;   // (3, size, size) in [0,1], made once

    public BadNet(TriggerSpec s)
    {
        size = s.Int("size", 3, 1, 4096);
        string pattern = s.Choice("pattern", "checker", "checker", "noise", "image");
        string path = s.Text("path", "");
        location = s.Choice("loc", "br", "br", "bl", "tr", "tl", "random");
        seed = s.Int("seed", 0, 0);
        if (pattern == "image" && (path.Length == 0 || !File.Exists(path)))
            throw new TbarException($"trigger spec '{s.Source}': pattern=image needs path=FILE of an existing image (got '{path}')");
        s.RejectUnknown();
        spec = TriggerSpec.Format("badnet", ("size", size), ("pattern", pattern), ("loc", location), ("seed", seed))
            + (pattern == "image" ? $",path={path}" : "");
        patch = MakePatch(pattern, path);
    }

    /// <summary>A BadNet with a patch held in memory (e.g. an optimised BadCLIP patch); <paramref name="spec"/> is what it records.</summary>
    public BadNet(Tensor patch, string location, string spec)
    {
        if (patch.dim() != 3 || patch.shape[0] != 3 || patch.shape[1] != patch.shape[2])
            throw new TbarException($"trigger 'badnet': a patch must be (3, S, S), got [{string.Join(",", patch.shape)}]");
        size = (int)patch.shape[1];
        this.location = location;
        this.spec = spec;
        this.patch = patch.detach().to(ScalarType.Float32).clone();
    }

    public string Spec => spec;

    /// <summary>The (3, size, size) patch in [0,1] (a copy).</summary>
    public Tensor Patch() => patch.clone();

    Tensor MakePatch(string pattern, string path)
    {
        if (pattern == "noise") return Compute.FromCpu(() => rand(3, size, size, generator: new Generator((ulong)seed)));
        if (pattern == "image") return ImageFile.LoadResized(path, size, size);
        // Checkerboard starting white at the top-left, the same on every channel.
        using var ij = arange(size).view(-1, 1) + arange(size).view(1, -1);
        return (ij % 2).eq(0).to(ScalarType.Float32).expand(3, -1, -1).contiguous();
    }

    public Tensor Apply(Tensor images) => Apply(images, Enumerable.Range(0, (int)images.shape[0]).Select(i => (long)i).ToArray());

    public Tensor Apply(Tensor images, long[] ids)
    {
        long b = images.shape[0], h = images.shape[2], w = images.shape[3];
        Triggers.RequireFits(spec, size, h, w);
        if (ids.Length != b) throw new ArgumentException($"{ids.Length} ids for a batch of {b}");
        var output = images.clone();
        if (location != "random")
        {
            var (top, left) = Corner(h, w);
            output[.., .., TensorIndex.Slice(top, top + size), TensorIndex.Slice(left, left + size)] = patch;
            return output;
        }
        using var scope = NewDisposeScope();
        var (tops, lefts) = RandomCorners(ids, h, w);
        // Advanced indices broadcast to (B, 3, size, size): row b, channel c, pixel (top_b + i, left_b + j).
        var batch = arange(b).view(-1, 1, 1, 1);
        var channel = arange(3).view(1, -1, 1, 1);
        var rows = tensor(tops).view(-1, 1, 1, 1) + arange(size).view(1, 1, -1, 1);
        var cols = tensor(lefts).view(-1, 1, 1, 1) + arange(size).view(1, 1, 1, -1);
        output.index_put_(patch.expand(b, -1, -1, -1), TensorIndex.Tensor(batch), TensorIndex.Tensor(channel),
            TensorIndex.Tensor(rows), TensorIndex.Tensor(cols));
        return output;
    }

    (long Top, long Left) Corner(long h, long w) => location switch
    {
        "br" => (h - size, w - size),
        "bl" => (h - size, 0),
        "tr" => (0, w - size),
        _ => (0, 0),
    };

    /// <summary>loc=random: each image's corner is a hash of (seed, id), so it is the same in every batch and every run.</summary>
    (long[] Tops, long[] Lefts) RandomCorners(long[] ids, long h, long w)
    {
        var tops = new long[ids.Length];
        var lefts = new long[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            ulong x = Mix((ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)ids[i]);
            tops[i] = (long)((x & 0xFFFFFFFF) % (ulong)(h - size + 1));
            lefts[i] = (long)((x >> 32) % (ulong)(w - size + 1));
        }
        return (tops, lefts);
    }

    // SplitMix64's finaliser: a cheap, well-mixed 64-bit hash.
    static ulong Mix(ulong x)
    {
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    public void Dispose() => patch.Dispose();
}
