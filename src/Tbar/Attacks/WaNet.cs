using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Tbar.Attacks;

/// <summary>
/// WaNet: a smooth warp. A seeded k×k field of offsets in [−1,1] (normalised by its mean magnitude) is upsampled bicubically
/// to the image, scaled by strength/H and added to the identity sampling grid. Noise mode adds a per-image random jitter
/// (the attack's "noise" samples, which keep their true labels).
/// </summary>
public sealed class WaNet : ITrigger
{
    readonly int grid, seed;
    readonly double strength;
    readonly bool noise;

    public WaNet(TriggerSpec s)
    {
        grid = s.Int("k", 4, 2, 64);
        strength = s.Number("s", 0.5, 0, 100);
        noise = s.Int("noise", 0, 0, 1) == 1;
        seed = s.Int("seed", 0, 0);
        s.RejectUnknown();
    }

    public string Spec => TriggerSpec.Format("wanet", ("k", grid), ("s", strength), ("noise", noise ? 1 : 0), ("seed", seed));

    /// <summary>Whether the attack mixes in noise-mode samples.</summary>
    public bool NoiseMode => noise;

    /// <summary>(1, H, W, 2) sampling grid in [−1,1] (x, y order, align_corners = true).</summary>
    public Tensor Grid(long h, long w)
    {
        using var scope = NewDisposeScope();
        var field = Compute.FromCpu(() => rand(1, 2, grid, grid, generator: new Generator((ulong)seed))) * 2 - 1;
        field = field / field.abs().mean();
        var up = F.interpolate(field, [h, w], mode: InterpolationMode.Bicubic, align_corners: true).permute(0, 2, 3, 1);
        var warped = (Identity(h, w) + strength * up / h).clamp(-1, 1);
        return warped.MoveToOuterDisposeScope();
    }

    /// <summary>The identity sampling grid (1, H, W, 2).</summary>
    public static Tensor Identity(long h, long w)
    {
        var ys = linspace(-1, 1, h);
        var xs = linspace(-1, 1, w);
        var mesh = meshgrid([ys, xs], indexing: "ij");
        return stack([mesh[1], mesh[0]], 2).unsqueeze(0);
    }

    public Tensor Apply(Tensor images) => Warp(images, null);

    /// <summary>Warp plus a seeded per-image jitter of up to one pixel (WaNet's noise mode).</summary>
    public Tensor ApplyNoise(Tensor images, Generator generator)
    {
        long b = images.shape[0], h = images.shape[2], w = images.shape[3];
        using var jitter = (Compute.FromCpu(() => rand([b, h, w, 2], generator: generator)) * 2 - 1) / h;
        return Warp(images, jitter);
    }

    Tensor Warp(Tensor images, Tensor? jitter)
    {
        using var scope = NewDisposeScope();
        long b = images.shape[0], h = images.shape[2], w = images.shape[3];
        var g = Grid(h, w).expand(b, -1, -1, -1);
        if (jitter is not null) g = (g + jitter).clamp(-1, 1);
        var output = F.grid_sample(images, g, mode: GridSampleMode.Bilinear, padding_mode: GridSamplePaddingMode.Zeros, align_corners: true);
        return output.clamp(0, 1).MoveToOuterDisposeScope();
    }
}
