using Tbar.Attacks;
using Tbar.Io;
using static TorchSharp.torch;

namespace Tbar.Inversion;

/// <summary>
/// A trigger recovered by inversion: x' = (1 − m)⊙x + m⊙p with a mask m ∈ [0,1]^{1×H×W} and a pattern p ∈ [0,1]^{3×H×W}.
/// Stored in a folder as <c>trigger.safetensors</c> (exact float values) with <c>mask.png</c> and <c>pattern.png</c> to look at.
/// </summary>
public sealed class InvertedTrigger : ITrigger, IDisposable
{
    public const string FileName = "trigger.safetensors";

    /// <summary>(1, H, W) in [0,1].</summary>
    public Tensor Mask { get; }

    /// <summary>(3, H, W) in [0,1].</summary>
    public Tensor Pattern { get; }

    /// <summary>Where it was loaded from or will be saved ("in-memory" before that).</summary>
    public string Source { get; private set; }

    public InvertedTrigger(Tensor mask, Tensor pattern, string source = "in-memory")
    {
        if (mask.dim() != 3 || mask.shape[0] != 1) throw new TbarException($"inverted trigger {source}: mask must be (1, H, W), got ({string.Join(", ", mask.shape)})");
        if (pattern.dim() != 3 || pattern.shape[0] != 3 || pattern.shape[1] != mask.shape[1] || pattern.shape[2] != mask.shape[2])
            throw new TbarException($"inverted trigger {source}: pattern must be (3, {mask.shape[1]}, {mask.shape[2]}), got ({string.Join(", ", pattern.shape)})");
        if (mask.numel() == 0) throw new TbarException($"inverted trigger {source}: the mask is empty");
        Mask = mask.detach().to(ScalarType.Float32).contiguous().clone();
        Pattern = pattern.detach().to(ScalarType.Float32).contiguous().clone();
        Source = source;
        using (no_grad())
        {
            if (!Mask.isfinite().all().item<bool>() || !Pattern.isfinite().all().item<bool>())
                throw new TbarException($"inverted trigger {source}: mask or pattern holds NaN or infinite values");
            if (Mask.min().item<float>() < 0 || Mask.max().item<float>() > 1 || Pattern.min().item<float>() < 0 || Pattern.max().item<float>() > 1)
                throw new TbarException($"inverted trigger {source}: mask and pattern values must lie in [0, 1]");
        }
    }

    public string Spec => $"inverted:{Source}";

    /// <summary>PL1 = ‖m‖₁ / (H·W): the share of the image the trigger covers.</summary>
    public double Pl1 => Mask.mean().item<float>();

    public Tensor Apply(Tensor images)
    {
        if (images.shape[2] != Mask.shape[1] || images.shape[3] != Mask.shape[2])
            throw new TbarException($"inverted trigger {Source} is {Mask.shape[1]}×{Mask.shape[2]}, images are {images.shape[2]}×{images.shape[3]}");
        using var scope = NewDisposeScope();
        return (images * (1 - Mask) + Pattern * Mask).MoveToOuterDisposeScope();
    }

    /// <summary>Writes the trigger and its pictures into <paramref name="dir"/> (created when missing).</summary>
    public void Save(string dir)
    {
        Directory.CreateDirectory(dir);
        SafeTensors.Save(Path.Combine(dir, FileName), new Dictionary<string, Tensor> { ["mask"] = Mask, ["pattern"] = Pattern },
            new Dictionary<string, string> { ["format"] = "tbar-inverted-trigger", ["pl1"] = Pl1.ToString("R") });
        ImageFile.SavePng(Path.Combine(dir, "mask.png"), Mask);
        ImageFile.SavePng(Path.Combine(dir, "pattern.png"), Pattern);
        using var stamped = Pattern * Mask;
        ImageFile.SavePng(Path.Combine(dir, "mask-times-pattern.png"), stamped);
        Source = dir;
    }

    /// <summary>Reads a trigger written by <see cref="Save"/> (a folder or the safetensors file itself).</summary>
    public static InvertedTrigger Load(string path)
    {
        var (file, source) = Locate(path, FileName, "inverted trigger");
        var tensors = SafeTensors.Load(file);
        if (!tensors.TryGetValue("mask", out var mask) || !tensors.TryGetValue("pattern", out var pattern))
            throw new TbarException($"{file}: an inverted trigger needs tensors 'mask' and 'pattern' (found: {string.Join(", ", tensors.Keys)})");
        return new InvertedTrigger(mask, pattern, source);
    }

    /// <summary>
    /// The file an inverted-trigger path names (a scan folder holding <paramref name="fileName"/>, or the file itself) and
    /// the source to record (the folder); an error naming the path when it is missing.
    /// </summary>
    internal static (string File, string Source) Locate(string path, string fileName, string what)
    {
        bool folder = Directory.Exists(path);
        string file = folder ? Path.Combine(path, fileName) : path;
        if (!File.Exists(file)) throw new TbarException($"{file}: no {what} here (expected {fileName}, written by `tbar scan`)");
        return (file, folder ? path : Path.GetDirectoryName(path) ?? path);
    }

    public void Dispose()
    {
        Mask.Dispose();
        Pattern.Dispose();
    }
}
