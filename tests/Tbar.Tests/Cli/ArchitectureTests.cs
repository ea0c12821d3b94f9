using Tbar.Cli;
using Tbar.Io;
using Tbar.Models;
using static TorchSharp.torch;

namespace Tbar.Tests.Cli;

/// <summary>
/// The architectures `tbar init --arch` writes, at full size, and the commands on an RN50-shaped model of reduced width.
/// </summary>
public class ArchitectureTests : TempFolder
{
    static void Run(params string[] args)
    {
        var stderr = new StringWriter();
        int code = TbarCli.Run(args, new StringWriter(), stderr);
        Assert.True(code == 0, $"tbar {string.Join(' ', args)}: {stderr}");
    }

    // open_clip's parameter counts for its configs of these names (ViT-B-32, ViT-B-16, RN50, ViT-L-14).
    public static TheoryData<string, long> Counts() => new()
    {
        { "vit-b-32", 151_277_313 }, { "vit-b-16", 149_620_737 }, { "rn50", 102_007_137 },
    };

    [Theory]
    [MemberData(nameof(Counts))]
    public void PresetsHaveOpenClipsParameterCounts(string arch, long expected)
    {
        using var clip = new Clip(ClipConfig.Named[arch]());
        Assert.Equal(expected, clip.ParameterCount());
    }

    /// <summary>Builds 428M parameters (1.7 GB): Slow.</summary>
    [Fact, Trait("Category", "Slow")]
    public void VitL14HasOpenClipsParameterCount()
    {
        using var clip = new Clip(ClipConfig.VitL14());
        Assert.Equal(427_616_513, clip.ParameterCount());
    }

    public static TheoryData<string, string> FullSize() => new()
    {
        { "rn50", "open_clip" }, { "vit-b-16", "hf" }, { "vit-b-16", "open_clip" }, { "vit-l-14", "hf" }, { "vit-l-14", "open_clip" },
    };

    /// <summary>Writes and loads up to 1.7 GB (ViT-L/14): Slow.</summary>
    [Theory, Trait("Category", "Slow")]
    [MemberData(nameof(FullSize))]
    public void InitWritesFullSizeCheckpointsThatLoadAndEmbed(string arch, string layout)
    {
        string dir = Path.Combine(temp, arch);
        Run("init", "--arch", arch, "--layout", layout, "--seed", "1", "--out", dir);
        using var clip = ClipCheckpoint.Load(dir, out var report);
        var expected = ClipConfig.Named[arch]();
        Assert.Equal(layout == "hf" ? CheckpointLayout.HuggingFace : CheckpointLayout.OpenClip, report.Layout);
        Assert.Equal(expected.Vision, clip.Config.Vision);
        Assert.Equal(expected.EmbedDim, clip.Config.EmbedDim);
        Assert.Empty(report.IgnoredKeys);
        using var guard = no_grad();
        using var embedding = clip.EncodeImage(randn(1, 3, 224, 224));
        Assert.Equal([1L, expected.EmbedDim], embedding.shape);
        Assert.True(embedding.isfinite().all().item<bool>() && embedding.std().item<float>() > 0, "a degenerate embedding");
    }

    /// <summary>
    /// unlearn and scan through the CLI on an RN50-shaped model at reduced width (RN50's blocks [3,4,6,3], width 32, 64 px,
    /// random weights and random BatchNorm statistics, open_clip layout; mini-clip's tokenizer). The cleaned folder keeps
    /// the open_clip keys and dtypes (I64 counts), and the BatchNorm statistics, which no method may touch, come back byte
    /// for byte. Width 32, not the narrow fixture's 16: convolutions of fewer than 16 channels (its stem has 8) hit
    /// oneDNN's NaN input gradients on this CPU (docs/checkpoints.md). The scan is calibrated on three such models first.
    /// </summary>
    [Fact, Trait("Category", "Slow")]
    public void UnlearnAndScanRunOnAnRn50ShapedModel()
    {
        string model = Path.Combine(temp, "rn50-w32"), tokenizer = Path.Combine(Fixtures.RepoRoot, "models", "mini-clip");
        string data = ContractTests.RandomImages(temp), cleaned = Path.Combine(temp, "u"), scanned = Path.Combine(temp, "s");
        var config = new ClipConfig(64, new ModifiedResNetConfig(64, [3, 4, 6, 3], 32, 8),
            new TextConfig(20, 678, 32, 1, 2, 128, Activation.QuickGelu, TextPooling.Argmax, 677), PreprocessConfig.Clip(64));
        void Make(string folder, int seed)
        {
            using var clip = new Clip(config);
            clip.InitializeRandom(seed);
            using (no_grad())
                foreach (var (_, buffer) in clip.named_buffers().Where(b => b.buffer.is_floating_point()))
                    buffer.copy_(rand(buffer.shape, generator: new Generator((ulong)(7 + seed))) + 0.5);
            ClipCheckpoint.Save(clip, folder, CheckpointLayout.OpenClip);
        }
        string[] others = [Path.Combine(temp, "rn50-w32-b"), Path.Combine(temp, "rn50-w32-c")];
        string calibration = Path.Combine(temp, "rn50-calibration.json");
        Make(model, 0);
        Make(others[0], 1);
        Make(others[1], 2);
        Run("unlearn", "--model", model, "--tokenizer", tokenizer, "--forget", "trigger:badnet:size=6", "--target", "Bag", "--val", data,
            "--forget-size", "6", "--val-size", "6", "--out", cleaned);

        var input = SafeTensors.Open(Path.Combine(model, "open_clip_model.safetensors"));
        var output = SafeTensors.Open(Path.Combine(cleaned, "open_clip_model.safetensors"));
        static string Describe(SafeTensorEntry e) => $"{e.Name} {e.DType} [{string.Join(",", e.Shape)}]";
        Assert.Equal(input.Entries.Select(Describe), output.Entries.Select(Describe));
        var statistics = input.Entries.Select(e => e.Name).Where(k => k.Contains("running_") || k.EndsWith("num_batches_tracked")).ToList();
        Assert.Equal(55 * 3, statistics.Count);
        Assert.All(statistics, k => Assert.Equal(Models.CheckpointTests.StoredBytes(input, k), Models.CheckpointTests.StoredBytes(output, k)));

        // The shipped calibration is the mini-CLIP's: an RN50 needs its own, here from three models of its shape (the fewest a
        // leave-one-out fit takes).
        Run("scan", "calibrate", "--models", model, others[0], others[1], "--tokenizer", tokenizer, "--clean", data, "--steps", "3", "--warp-steps", "3",
            "--batch", "4", "--out", calibration);
        Run("scan", "--model", model, "--tokenizer", tokenizer, "--clean", data, "--calibration", calibration, "--steps", "3",
            "--out", scanned);
        Assert.True(File.Exists(Path.Combine(scanned, "trigger.safetensors")));
        Assert.True(File.Exists(Path.Combine(scanned, "warp.safetensors")));
    }
}
