using Tbar.Analysis;
using Tbar.Arithmetic;
using Tbar.Attacks;
using Tbar.Cli;
using Tbar.Data;
using Tbar.Models;
using Tbar.Tests.Unlearning;
using Tbar.Unlearning;
using static TorchSharp.torch;

namespace Tbar.Tests.Analysis;

public class AnalysisTests : TempFolder
{
    static TaskVector Vector(params (string Key, float[] Values)[] entries) =>
        new(entries.ToDictionary(e => e.Key, e => tensor(e.Values)));

    [Fact]
    public void StatisticsOfHandBuiltVectorsMatchHandComputation()
    {
        using var trigger = Vector(("visual.conv1.weight", [1, 0]), ("visual.transformer.resblocks.0.mlp.c_fc.weight", [0, 2]));
        using var clean = Vector(("visual.conv1.weight", [1, 1]), ("visual.transformer.resblocks.0.mlp.c_fc.weight", [0, -2]));
        var s = VectorStats.Compute(trigger, clean);
        Assert.Equal(Math.Sqrt(5), s.TriggerNorm, 9);
        Assert.Equal(Math.Sqrt(6), s.CleanNorm, 9);
        Assert.Equal(-3 / Math.Sqrt(30), s.Cosine, 9);
        var conv = s.Blocks.Single(b => b.Block == "conv1");
        var block0 = s.Blocks.Single(b => b.Block == "block 0");
        Assert.Equal(1 / Math.Sqrt(2), conv.Cosine, 9);
        Assert.Equal(-1, block0.Cosine, 9);
        Assert.Equal(0.2, conv.TriggerEnergyShare, 9);
        Assert.Equal(0.8, block0.TriggerEnergyShare, 9);
        Assert.Equal(2, block0.Parameters);
        Assert.Equal(["conv1", "block 0"], s.Blocks.Select(b => b.Block));
        Assert.Equal("block 12", VectorStats.Block("visual.transformer.resblocks.12.attn.in_proj_weight"));
        Assert.Equal("proj", VectorStats.Block("visual.proj"));
        using var other = Vector(("visual.ln_pre.weight", [1, 0]));
        Assert.Contains("different parameters", Assert.Throws<TbarException>(() => VectorStats.Compute(trigger, other)).Message);
    }

    /// <summary>ξ's clean term compares a model with itself when α_t = 0, and its trigger term when α_c = 0.</summary>
    [Fact]
    public void XiTermsVanishOnTheAxesByConstruction()
    {
        using var model = ClipCheckpoint.Load(TbarRegressionTests.MiniClip());
        var generator = new TorchSharp.torch.Generator(9);
        TaskVector Noise(float scale) => new(model.Visual.named_parameters().ToDictionary(p => "visual." + p.name,
            p => randn(p.parameter.shape, generator: generator) * scale));
        using var clean = Noise(0.05f);
        using var trigger = Noise(0.05f);
        using var data = new ImageDataset(randint(0, 256, [24, 1, 28, 28], generator: generator, dtype: ScalarType.Byte),
            Enumerable.Range(0, 24).Select(i => (long)(i % 3)).ToArray(), ["Bag", "Coat", "Shirt"], "noise");
        using var head = ZeroShotHead.Build(model, Tokenizers.For(model, null), data.ClassNames);
        string before = VisualWeights.Hash(model);
        var axis = Disentanglement.Axis(2, 3);
        Assert.Equal([-2.0, 0, 2], axis);
        var grid = Disentanglement.Compute(model, clean, trigger, head, data, data.AllIndices(), data.AllIndices(), Triggers.Parse("badnet:size=3"), axis, axis);
        Assert.Equal(9, grid.Points.Count);
        Assert.All(grid.Points.Where(p => p.AlphaTrigger == 0), p => Assert.Equal(0, p.CleanTerm));
        Assert.All(grid.Points.Where(p => p.AlphaClean == 0), p => Assert.Equal(0, p.TriggerTerm));
        Assert.Contains(grid.Points, p => p.Xi > 0);
        Assert.Equal(before, VisualWeights.Hash(model));
    }

    [Fact]
    public void EditingWithTwoVectorsRestoresBitForBit()
    {
        using var model = ClipCheckpoint.Load(TbarRegressionTests.MiniClip());
        string before = VisualWeights.Hash(model);
        using var a = new TaskVector(new Dictionary<string, Tensor> { ["visual.proj"] = randn(model.Visual.named_parameters().First(p => p.name == "proj").parameter.shape) });
        using var b = new TaskVector(new Dictionary<string, Tensor> { ["visual.ln_post.weight"] = randn(128), ["visual.proj"] = randn(128, 64) });
        using var edit = new WeightEdit(model, a, b);
        edit.Set(0.3, -1.7);
        Assert.NotEqual(before, VisualWeights.Hash(model));
        edit.Restore();
        Assert.Equal(before, VisualWeights.Hash(model));
        Assert.Contains("2 vectors got 1", Assert.Throws<TbarException>(() => edit.Set(1.0)).Message);
    }

    [Fact]
    public void ClassSubsetsAreRelabelledInTheGivenOrder()
    {
        using var data = new ImageDataset(zeros(6, 1, 2, 2, dtype: ScalarType.Byte), [0, 1, 2, 0, 2, 1], ["a", "b", "c"], "x");
        var (subset, kept) = data.ClassSubset(["c", "a"], [0, 1, 2, 3, 4], "sub");
        using (subset)
        {
            Assert.Equal(["c", "a"], subset.ClassNames);
            Assert.Equal([1L, 0, 1, 0], subset.Labels);
            Assert.Equal(4, kept.Length);
        }
    }

    [Fact]
    public void ReportGathersSectionsAndRewritesImageLinks()
    {
        Directory.CreateDirectory(Path.Combine(temp, "a", "x"));
        File.WriteAllText(Path.Combine(temp, "a", "x", "section.md"), "## X\n\n![p](plot.png)\n");
        string output = Path.Combine(temp, "out", "report.md");
        int code = TbarCli.Run(["report", "--in", Path.Combine(temp, "a"), "--out", output], new StringWriter(), new StringWriter());
        Assert.Equal(0, code);
        Assert.Contains("](../a/x/plot.png)", File.ReadAllText(output));
        var stderr = new StringWriter();
        Assert.Equal(1, TbarCli.Run(["report", "--in", Path.Combine(temp, "out"), "--out", output], new StringWriter(), stderr));
        Assert.Contains("no section.md", stderr.ToString());
    }
}

public class CleanClipStyleTests
{
    [Fact]
    public void AugmentedViewsKeepShapeAndOnlyShiftFlipAndScaleBrightness()
    {
        var rng = new Random(1);
        using var flat = full(5, 3, 8, 8, 0.5f);
        using var views = Tbar.Unlearning.CleanClipStyle.Augment(flat, 3, rng);
        Assert.Equal(flat.shape, views.shape);
        // A constant image is unchanged by shifts (edge padding) and mirrors; only the brightness factor in [0.9, 1.1] acts.
        for (int i = 0; i < 5; i++)
        {
            float lo = views[i].min().item<float>(), hi = views[i].max().item<float>();
            Assert.Equal(lo, hi, 5);
            Assert.InRange(lo, 0.45f, 0.55f);
        }
        using var ramp = arange(64, dtype: ScalarType.Float32).reshape(1, 1, 8, 8).expand(2, 3, 8, 8).contiguous();
        using var moved = Tbar.Unlearning.CleanClipStyle.Augment(ramp, 3, new Random(2));
        Assert.False(moved.allclose(ramp), "augmentation left a non-constant image unchanged");
    }
}
