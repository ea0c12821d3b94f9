using Tbar.Attacks;
using Tbar.Io;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Tbar.Inversion;

/// <summary>
/// A trigger recovered by the warp inversion: a smooth warp plus a small additive residual,
/// x' = clamp(warp(x; flow) + r, 0, 1). The flow is a (2, k, k) field of control-point shifts in pixels (x then y),
/// upsampled bicubically to the image as WaNet's own field is; r is (3, H, W). Stored as <c>warp.safetensors</c>
/// (exact float values, the bounds it was found under in the header) with <c>warp.json</c> beside it for people.
/// </summary>
public sealed class InvertedWarp : ITrigger, IDisposable
{
    public const string FileName = "warp.safetensors";

    /// <summary>(2, k, k) control-point shifts in pixels, x (columns) then y (rows).</summary>
    public Tensor Flow { get; }

    /// <summary>(3, H, W) added after the warp, |r| ≤ 1.</summary>
    public Tensor Residual { get; }

    /// <summary>Where it was loaded from or will be saved ("in-memory" before that).</summary>
    public string Source { get; private set; }

    public InvertedWarp(Tensor flow, Tensor residual, string source = "in-memory")
    {
        if (flow.dim() != 3 || flow.shape[0] != 2 || flow.shape[1] < 2 || flow.shape[1] != flow.shape[2])
            throw new TbarException($"inverted warp {source}: flow must be (2, k, k) with k ≥ 2, got ({string.Join(", ", flow.shape)})");
        if (residual.dim() != 3 || residual.shape[0] != 3 || residual.shape[1] < 2 || residual.shape[2] < 2)
            throw new TbarException($"inverted warp {source}: residual must be (3, H, W) with H, W ≥ 2, got ({string.Join(", ", residual.shape)})");
        Flow = flow.detach().to(ScalarType.Float32).contiguous().clone();
        Residual = residual.detach().to(ScalarType.Float32).contiguous().clone();
        Source = source;
        using (no_grad())
        {
            if (!Flow.isfinite().all().item<bool>() || !Residual.isfinite().all().item<bool>())
                throw new TbarException($"inverted warp {source}: flow or residual holds NaN or infinite values");
            if (Residual.abs().max().item<float>() > 1) throw new TbarException($"inverted warp {source}: residual values must lie in [−1, 1]");
            long side = Math.Max(Residual.shape[1], Residual.shape[2]);
            if (Flow.abs().max().item<float>() > side)
                throw new TbarException($"inverted warp {source}: a shift exceeds the image side ({side} pixels)");
        }
    }

    public string Spec => $"inverted:{Source}";

    /// <summary>Mean shift of the upsampled field, in pixels.</summary>
    public double MeanShift
    {
        get
        {
            using var scope = NewDisposeScope();
            return Shifts(Flow.unsqueeze(0), Residual.shape[1], Residual.shape[2]).square().sum(dim: -1).sqrt().mean().item<float>();
        }
    }

    /// <summary>Largest |r|.</summary>
    public double ResidualMax => Residual.abs().max().item<float>();

    public Tensor Apply(Tensor images)
    {
        if (images.shape[2] != Residual.shape[1] || images.shape[3] != Residual.shape[2])
            throw new TbarException($"inverted warp {Source} is {Residual.shape[1]}×{Residual.shape[2]}, " +
                $"images are {images.shape[2]}×{images.shape[3]}");
        using var scope = NewDisposeScope();
        return Warp(images, Flow.unsqueeze(0), Residual.unsqueeze(0)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// (B, 3, H, W) in [0,1], a (1, 2, k, k) flow in pixels and a (1, 3, H, W) residual → warped images in [0,1];
    /// differentiable in flow and residual (the inversion optimises through it).
    /// </summary>
    public static Tensor Warp(Tensor images, Tensor flow, Tensor residual)
    {
        long b = images.shape[0], h = images.shape[2], w = images.shape[3];
        // Pixel shifts → grid units: with align_corners the grid's [−1, 1] spans (side − 1) pixels.
        var scale = tensor(new float[] { 2f / (w - 1), 2f / (h - 1) });
        var grid = (WaNet.Identity(h, w) + Shifts(flow, h, w) * scale).expand(b, -1, -1, -1);
        var warped = F.grid_sample(images, grid, mode: GridSampleMode.Bilinear, padding_mode: GridSamplePaddingMode.Zeros, align_corners: true);
        return (warped + residual).clamp(0, 1);
    }

    /// <summary>(1, 2, k, k) control points → (1, H, W, 2) shifts in pixels (x, y), bicubic like WaNet's field.</summary>
    static Tensor Shifts(Tensor flow, long h, long w) =>
        F.interpolate(flow, [h, w], mode: InterpolationMode.Bicubic, align_corners: true).permute(0, 2, 3, 1);

    /// <summary>Writes the warp, a note of its bounds, and a picture of the residual into <paramref name="dir"/>.</summary>
    public void Save(string dir, IReadOnlyDictionary<string, string> bounds)
    {
        Directory.CreateDirectory(dir);
        var metadata = new Dictionary<string, string>(bounds) { ["format"] = "tbar-inverted-warp", ["mean_shift_pixels"] = MeanShift.ToString("R") };
        SafeTensors.Save(Path.Combine(dir, FileName), new Dictionary<string, Tensor> { ["flow"] = Flow, ["residual"] = Residual }, metadata);
        AtomicFile.WriteText(Path.Combine(dir, "warp.json"), System.Text.Json.JsonSerializer.Serialize(metadata, RunRecord.Json) + "\n");
        double bound = Math.Max(ResidualMax, 1e-6);
        using var picture = Residual / (2 * bound) + 0.5;
        ImageFile.SavePng(Path.Combine(dir, "warp-residual.png"), picture);
        Source = dir;
    }

    /// <summary>Reads a warp written by <see cref="Save"/> (a folder or the safetensors file itself).</summary>
    public static InvertedWarp Load(string path)
    {
        var (file, source) = InvertedTrigger.Locate(path, FileName, "inverted warp");
        return From(SafeTensors.Load(file), file, source);
    }

    /// <summary>The warp in a safetensors file's tensors, read from <paramref name="file"/> (named in errors).</summary>
    public static InvertedWarp From(IReadOnlyDictionary<string, Tensor> tensors, string file, string source)
    {
        if (!tensors.TryGetValue("flow", out var flow) || !tensors.TryGetValue("residual", out var residual))
            throw new TbarException($"{file}: an inverted warp needs tensors 'flow' and 'residual' (found: {string.Join(", ", tensors.Keys)})");
        if (!flow.is_floating_point() || !residual.is_floating_point())
            throw new TbarException($"{file}: an inverted warp's flow and residual must be floating point (got {flow.dtype}, {residual.dtype})");
        try
        {
            return new InvertedWarp(flow, residual, source);
        }
        catch (TbarException e) when (!e.Message.Contains(file))
        {
            throw new TbarException($"{file}: {e.Message}");
        }
    }

    public void Dispose()
    {
        Flow.Dispose();
        Residual.Dispose();
    }
}
