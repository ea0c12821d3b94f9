using Tbar;
using Tbar.Data;
using Tbar.Models;
using static TorchSharp.torch;

/// <summary>A model under benchmark with a zero-shot head over ten classes and the input side it takes.</summary>
sealed record BenchModel(string Name, Clip Clip, ZeroShotHead Head) : IDisposable
{
    /// <summary>The benchmark's model names: the shipped mini-CLIP, a random ViT-B/32 shape, rn18-clip from the cache.</summary>
    public static readonly string[] Names = ["mini-clip", "vit-b-32", "rn18-clip"];

    public int ImageSize => Clip.Config.Preprocess.ImageSize;

    /// <summary>Where rn18-clip lives once built (<c>./tbar pretrain --arch rn18-clip</c> or first use).</summary>
    public static string Rn18Folder => Tbar.Io.CachePaths.Rn18Clip;

    /// <summary>Null with a reason when the model cannot be benchmarked here (rn18-clip not built).</summary>
    public static string? Missing(string name) => name == "rn18-clip" && !File.Exists(Path.Combine(Rn18Folder, "tbar_config.json"))
        ? $"{Rn18Folder} is absent (build it with ./tbar pretrain --arch rn18-clip --image-size 64)" : null;

    /// <summary>Loads <paramref name="name"/>; the ViT-B/32 shape gets seeded random weights and the mini-CLIP's tokenizer for its head.</summary>
    public static BenchModel Load(string name, string repoRoot)
    {
        string miniClip = Path.Combine(repoRoot, "models", "mini-clip");
        var clip = name switch
        {
            "mini-clip" => ClipCheckpoint.Load(miniClip),
            "rn18-clip" => ClipCheckpoint.Load(Rn18Folder),
            "vit-b-32" => RandomVitB32(),
            _ => throw new TbarException($"unknown bench model '{name}' (valid: {string.Join(", ", Names)})"),
        };
        var tokenizer = ClipTokenizer.FromFolder(name == "rn18-clip" ? Rn18Folder : miniClip);
        // The random ViT-B/32 gets the four default templates: its 12-layer text tower makes the full product slow to build.
        var head = name == "vit-b-32" ? ZeroShotHead.Build(clip, tokenizer, FashionMnist.ClassNames)
            : ZeroShotHead.ForClasses(clip, tokenizer, FashionMnist.ClassNames);
        return new BenchModel(name, clip, head);
    }

    static Clip RandomVitB32()
    {
        var clip = new Clip(ClipConfig.VitB32());
        clip.InitializeRandom(0);
        return clip;
    }

    /// <summary>(B, 3, S, S) normalised-looking random images and int64 labels in 0..9, seeded.</summary>
    public (Tensor Images, Tensor Labels) RandomBatch(int batch, long seed = 0)
    {
        var gen = new Generator((ulong)seed);
        return (randn(batch, 3, ImageSize, ImageSize, generator: gen), randint(0, 10, batch, generator: gen, dtype: ScalarType.Int64));
    }

    /// <summary>
    /// A random uint8 data set in the shape the model is evaluated on: Fashion-MNIST's (N, 1, 28, 28) for the mini-CLIP and
    /// rn18-clip (which resizes to 64 px in preprocessing), (N, 3, S, S) for the ViT-B/32 shape.
    /// </summary>
    public ImageDataset RandomDataset(int count, long seed = 0)
    {
        var gen = new Generator((ulong)seed);
        var (channels, side) = Name == "vit-b-32" ? (3, ImageSize) : (1, 28);
        var pixels = randint(0, 256, [count, channels, side, side], generator: gen, dtype: ScalarType.Byte);
        var labels = Enumerable.Range(0, count).Select(i => (long)(i % 10)).ToArray();
        return new ImageDataset(pixels, labels, FashionMnist.ClassNames, "random");
    }

    public void Dispose()
    {
        Head.Dispose();
        Clip.Dispose();
    }
}
