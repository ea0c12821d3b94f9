using System.Text;
using SkiaSharp;
using Tbar.Inversion;
using Tbar.Io;
using Tbar.Models;
using static TorchSharp.torch;

namespace Tbar.Fuzz;

/// <summary>A fuzzed reader: valid seed inputs and the call that must either accept an input or reject it with a TbarException.</summary>
public sealed record Target(string Name, IReadOnlyList<byte[]> Seeds, Action<byte[], string> Read);

/// <summary>The fuzzed readers: safetensors, images, the open_clip RN50 (ModifiedResNet) loader's config and weights, and the inverted warp `tbar scan` writes.</summary>
public static class Targets
{
    /// <summary>Every target; seed files are made in <paramref name="scratch"/> (the run's own folder).</summary>
    public static IReadOnlyList<Target> All(string scratch) =>
        [SafeTensorsReader(scratch), ImageDecoder(), Rn50Config(scratch), Rn50Checkpoint(scratch), InvertedWarpReader(scratch)];

    /// <summary>A tiny open_clip RN50-shaped CLIP (four one-block stages, width 8, 32 px), built once: the RN50 targets' seed.</summary>
    public static ClipConfig TinyRn50 => new(16, new ModifiedResNetConfig(32, [1, 1, 1, 1], 8, 4),
        new TextConfig(8, 300, 16, 1, 2, 32, Activation.QuickGelu, TextPooling.Argmax, 299), PreprocessConfig.Clip(32));

    /// <summary>open_clip_config.json of an RN50-shaped model (vision_cfg.layers a list), read as a config.</summary>
    public static Target Rn50Config(string scratch) => new("rn50-config", [Encoding.UTF8.GetBytes(ClipConfigFiles.OpenClipJson(TinyRn50))],
        (bytes, name) => InFolder(scratch, name, dir =>
        {
            File.WriteAllBytes(Path.Combine(dir, "open_clip_config.json"), bytes);
            ClipConfigFiles.ReadOpenClip(Path.Combine(dir, "open_clip_config.json"));
        }));

    /// <summary>open_clip_model.safetensors of an RN50-shaped model, loaded whole with its (valid) config.</summary>
    public static Target Rn50Checkpoint(string scratch)
    {
        string config = ClipConfigFiles.OpenClipJson(TinyRn50);
        byte[] weights = InFolder(scratch, "rn50-seed", dir =>
        {
            using var clip = new Clip(TinyRn50);
            clip.InitializeRandom(0);
            return File.ReadAllBytes(ClipCheckpoint.Save(clip, Path.Combine(dir, "model"), CheckpointLayout.OpenClip));
        });
        return new("rn50-checkpoint", [weights], (bytes, name) => InFolder(scratch, name, dir =>
        {
            File.WriteAllText(Path.Combine(dir, "open_clip_config.json"), config);
            File.WriteAllBytes(Path.Combine(dir, "open_clip_model.safetensors"), bytes);
            ClipCheckpoint.Load(dir).Dispose();
        }));
    }

    // Runs read in a fresh folder scratch/name (so errors name the case), removed afterwards.
    static void InFolder(string scratch, string name, Action<string> read) => InFolder(scratch, name, dir => { read(dir); return 0; });

    static T InFolder<T>(string scratch, string name, Func<string, T> read)
    {
        var dir = Directory.CreateDirectory(Path.Combine(scratch, name));
        try
        {
            return read(dir.FullName);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>Reads a safetensors file from memory and, when it is accepted, every tensor in it.</summary>
    public static Target SafeTensorsReader(string scratch) => new("safetensors", SafeTensorSeeds(scratch), (bytes, name) =>
    {
        var file = SafeTensorsFile.Read(new MemoryStream(bytes), name);
        foreach (var e in file.Entries) file.ReadTensor(e.Name).Dispose();
    });

    /// <summary>Reads an inverted warp (warp.safetensors) from memory and, when it is accepted, applies it to a few images.</summary>
    public static Target InvertedWarpReader(string scratch) => new("inverted-warp", WarpSeeds(scratch), (bytes, name) =>
    {
        var file = SafeTensorsFile.Read(new MemoryStream(bytes), name);
        var tensors = file.Entries.ToDictionary(e => e.Name, e => file.ReadTensor(e.Name));
        using var warp = InvertedWarp.From(tensors, name, name);
        using var images = full(2, 3, warp.Residual.shape[1], warp.Residual.shape[2], 0.5f);
        warp.Apply(images).Dispose();
    });

    /// <summary>Valid warps: a 4×4 field with a residual on 28×28, and a 2×2 field on 5×7.</summary>
    public static IReadOnlyList<byte[]> WarpSeeds(string scratchParent)
    {
        var scratch = Directory.CreateDirectory(Path.Combine(scratchParent, $"warp-seeds-{Environment.ProcessId}"));
        try
        {
            return new[] { (4, 28, 28), (2, 5, 7) }.Select((shape, i) =>
            {
                var (k, h, w) = shape;
                using var warp = new InvertedWarp(rand(2, k, k, generator: new Generator((ulong)i)) * 2 - 1, full(3, h, w, 0.01f));
                string dir = Path.Combine(scratch.FullName, $"{i}");
                warp.Save(dir, new WarpOptions(Grid: k).Bounds);
                return File.ReadAllBytes(Path.Combine(dir, InvertedWarp.FileName));
            }).ToList();
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    /// <summary>Decodes an image from memory to RGBA (bounded size, complete data).</summary>
    public static Target ImageDecoder() => new("image", ImageSeeds(), (bytes, name) =>
        ImageFile.DecodeRgba(new MemoryStream(bytes), name, out _, out _));

    /// <summary>Valid safetensors files: several dtypes with metadata, a scalar, an empty tensor.</summary>
    public static IReadOnlyList<byte[]> SafeTensorSeeds(string scratchParent)
    {
        var scratch = Directory.CreateDirectory(Path.Combine(scratchParent, $"seeds-{Environment.ProcessId}"));
        try
        {
            return new[]
            {
                new Dictionary<string, Tensor> { ["a.weight"] = arange(6, dtype: ScalarType.Float32).view(2, 3), ["b"] = tensor(new long[] { 1, -2 }),
                    ["c"] = ones(3, dtype: ScalarType.Float16), ["d"] = tensor(new[] { true, false }) },
                new Dictionary<string, Tensor> { ["x"] = tensor(3.5f) },
                new Dictionary<string, Tensor> { ["empty"] = zeros(0, 4), ["u"] = tensor(new byte[] { 1, 2, 3 }) },
            }.Select((tensors, i) =>
            {
                string path = Path.Combine(scratch.FullName, $"{i}.safetensors");
                SafeTensors.Save(path, tensors, i == 0 ? new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ü" } : null);
                return File.ReadAllBytes(path);
            }).ToList();
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    /// <summary>Valid images: PNG (RGBA and grey), JPEG, WebP.</summary>
    public static IReadOnlyList<byte[]> ImageSeeds() =>
    [
        Encode(8, 8, SKColorType.Rgba8888, SKEncodedImageFormat.Png),
        Encode(5, 3, SKColorType.Gray8, SKEncodedImageFormat.Png),
        Encode(16, 16, SKColorType.Rgba8888, SKEncodedImageFormat.Jpeg),
        Encode(8, 8, SKColorType.Rgba8888, SKEncodedImageFormat.Webp),
    ];

    static byte[] Encode(int w, int h, SKColorType type, SKEncodedImageFormat format)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, type, SKAlphaType.Unpremul));
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) bitmap.SetPixel(x, y, new SKColor((byte)(x * 30), (byte)(y * 30), (byte)(x * y), 200));
        using var data = bitmap.Encode(format, 90);
        return data.ToArray();
    }
}
