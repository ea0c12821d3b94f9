using System.Security.Cryptography;
using System.Text;
using Tbar.Io;
using Tbar.Models;
using static TorchSharp.torch;

namespace Tbar.Data;

/// <summary>
/// One sub-folder per class (sorted names), images resized (short side) and centre-cropped to a square size, held as uint8.
/// Decoded tensors are cached (keyed by file list, sizes, times and the size) so repeated runs skip decoding.
/// </summary>
public static class ImageFolder
{
    /// <summary>File suffixes read as images.</summary>
    public static readonly string[] Suffixes = [".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif"];

    /// <summary>Loads <paramref name="folder"/> at <paramref name="size"/>×<paramref name="size"/>.</summary>
    public static ImageDataset Load(string folder, int size, string? cacheDir = null)
    {
        if (!Directory.Exists(folder)) throw new TbarException($"{folder}: image folder not found");
        var classes = Directory.GetDirectories(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        var files = classes.SelectMany((c, label) => Images(Path.Combine(folder, c!)).Select(f => (File: f, Label: (long)label))).ToList();
        if (files.Count == 0) throw new TbarException($"{folder}: no images in class sub-folders ({string.Join(", ", Suffixes)})");
        string cache = Path.Combine(cacheDir ?? DefaultCache(), Key(files.Select(f => f.File), size) + ".safetensors");
        var pixels = OneChannelIfGrey(Cached(cache, files.Count, size) ?? Decode(files.Select(f => f.File).ToList(), size, cache));
        return new ImageDataset(pixels, files.Select(f => f.Label).ToArray(), classes!, $"folder:{folder}");
    }

    /// <summary>Image files under <paramref name="dir"/> (recursively), in ordinal order.</summary>
    public static IEnumerable<string> Images(string dir) => Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
        .Where(f => Suffixes.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal);

    // The cache can be rebuilt, so a damaged or foreign file there is ignored (and overwritten), never trusted.
    static Tensor? Cached(string cache, int count, int size)
    {
        if (!File.Exists(cache)) return null;
        try
        {
            var file = SafeTensors.Open(cache);
            bool fits = file.Contains("pixels") && file.Entry("pixels") is { DType: SafeDType.U8 } e && e.Shape.SequenceEqual([count, 3, size, size]);
            return fits ? file.ReadTensor("pixels") : null;
        }
        catch (TbarException)
        {
            return null;
        }
    }

    /// <summary>
    /// (N, 1, S, S) when all three channels are equal (grey images, e.g. Fashion-MNIST written as PNGs), else the pixels as
    /// they are: a third of the memory, and <see cref="ImageDataset.Images"/> gives back the same three equal channels.
    /// </summary>
    public static Tensor OneChannelIfGrey(Tensor pixels)
    {
        if (pixels.shape[1] != 3) return pixels;
        using (var scope = NewDisposeScope())
        {
            var r = pixels.select(1, 0);
            if (!r.eq(pixels.select(1, 1)).all().item<bool>() || !r.eq(pixels.select(1, 2)).all().item<bool>()) return pixels;
        }
        var grey = pixels.narrow(1, 0, 1).clone();
        pixels.Dispose();
        return grey;
    }

    static Tensor Decode(List<string> files, int size, string cache)
    {
        var decoded = files.Select(f => Preprocess.LoadSquareBytes(f, size)).ToArray();
        var pixels = stack(decoded);
        foreach (var d in decoded) d.Dispose();
        SafeTensors.Save(cache, new Dictionary<string, Tensor> { ["pixels"] = pixels });
        return pixels;
    }

    static string DefaultCache() => Io.CachePaths.Root;

    static string Key(IEnumerable<string> files, int size)
    {
        var text = new StringBuilder($"v1|{size}");
        foreach (var f in files)
        {
            var info = new FileInfo(f);
            text.Append('|').Append(Path.GetFullPath(f)).Append(':').Append(info.Length).Append(':').Append(info.LastWriteTimeUtc.Ticks);
        }
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..24].ToLowerInvariant();
    }
}
