using Tbar.Arithmetic;
using Tbar.Models;
using Tbar.Pipelines;
using Tbar.Unlearning;
using static TorchSharp.torch;

namespace Tbar.Tests.Models;

/// <summary>A small ResNet-towered CLIP through the checkpoint, task-vector and weight-edit paths (no package needed).</summary>
public class ResNetTowerTests : TempFolder
{
    static Clip Small()
    {
        var config = new ClipConfig(16, new ResNetConfig(32, [1, 1], [8, 16]),
            new TextConfig(8, 300, 32, 1, 2, 64, Activation.QuickGelu, TextPooling.FirstEot, 299),
            ResNetOnnx.Preprocess(32, [120f, 115f, 105f]));
        var model = new Clip(config);
        model.InitializeRandom(3);
        using var guard = no_grad();
        // Non-trivial BatchNorm statistics, so a round trip that dropped them would show.
        foreach (var (name, buffer) in model.named_buffers()) buffer.copy_(rand(buffer.shape, generator: new Generator(7)) + 0.5);
        return model;
    }

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Fact]
    public void ASavedTbarLayoutModelIsFoundAgainSoAResumedCellDoesNotRetrainIt()
    {
        // rn18-clip is stored in Tbar's own layout; an experiment cell (clean reference, backdoored model) must recognise
        // its folder on resumption by that layout's weights file, not by HF's model.safetensors.
        using var model = Small();
        string clean = Path.Combine(temp, "clean"), cell = Path.Combine(temp, "cell");
        ClipCheckpoint.Save(model, clean, CheckpointLayout.Tbar, "test-resnet");
        using var loaded = ClipCheckpoint.Load(clean);
        Assert.Equal("tbar_model.safetensors", SavedBackdoor.WeightsFile(loaded));
        Assert.False(SavedBackdoor.HoldsModel(cell));
        int planted = 0;
        using (SavedBackdoor.LoadOrPlant(cell, clean, _ => { planted++; return _ => { }; })) { }
        Assert.True(SavedBackdoor.HoldsModel(cell));
        Assert.True(File.Exists(Path.Combine(cell, "tbar_model.safetensors")));
        using (SavedBackdoor.LoadOrPlant(cell, clean, _ => { planted++; return _ => { }; })) { }
        Assert.Equal(1, planted);
    }

    [Fact]
    public void ACellPlantedFromAnotherCleanModelIsRefusedOnResumption()
    {
        // A rebuilt clean model (e.g. rn18-clip by a newer recipe) must not be mixed with cells planted from the old one.
        using var model = Small();
        string clean = Path.Combine(temp, "clean"), cell = Path.Combine(temp, "cell");
        ClipCheckpoint.Save(model, clean, CheckpointLayout.Tbar, "test-resnet");
        using (SavedBackdoor.LoadOrPlant(cell, clean, _ => _ => { })) { }
        Assert.True(File.Exists(Path.Combine(cell, SavedBackdoor.SourceFile)));
        using (no_grad()) model.Visual.parameters().First().add_(1e-3);
        Directory.Delete(clean, true);
        ClipCheckpoint.Save(model, clean, CheckpointLayout.Tbar, "test-resnet");
        int planted = 0;
        var e = Assert.Throws<TbarException>(() => SavedBackdoor.LoadOrPlant(cell, clean, _ => { planted++; return _ => { }; }));
        Assert.Contains(cell, e.Message);
        Assert.Contains("another clean model", e.Message);
        Assert.Equal(0, planted);
    }

    [Fact]
    public void TbarLayoutRoundTripIsBitExactWithBatchNormStatistics()
    {
        using var model = Small();
        ClipCheckpoint.Save(model, temp, CheckpointLayout.Tbar, "test-resnet");
        using var reloaded = ClipCheckpoint.Load(temp, out var report);

        Assert.Equal(CheckpointLayout.Tbar, report.Layout);
        Assert.Equal(model.Config, reloaded.Config);
        var a = model.StateTensors();
        var b = reloaded.StateTensors();
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        Assert.Contains("visual.layer2.0.shortcut.bn.running_var", a.Keys);
        Assert.All(a, p => Assert.True(Same(p.Value, b[p.Key]), p.Key));
        using var x = randn(2, 3, 28, 28);
        using var guard = no_grad();
        Assert.True(Same(model.EncodeImage(x), reloaded.EncodeImage(x)));
    }

    [Fact]
    public void TaskVectorsCoverParametersOnlyAndUndoExactly()
    {
        using var model = Small();
        var keys = VisualWeights.Keys(model);
        Assert.DoesNotContain(keys, k => k.Contains("running_"));
        AssertEditUndoesExactly(model, keys, "visual.stem.conv.weight");
    }

    /// <summary>A random τ over <paramref name="keys"/> at α = 0.5 moves <paramref name="probe"/>; restoring gives every parameter back bit for bit.</summary>
    internal static void AssertEditUndoesExactly(Clip model, IEnumerable<string> keys, string probe)
    {
        var before = VisualWeights.Snapshot(model);
        using var tau = new TaskVector(keys.ToDictionary(k => k, k => randn(before[k].shape)));
        using var edit = new WeightEdit(model, tau);
        edit.Set(0.5);
        Assert.False(Same(model.Parameters()[probe], before[probe]));
        edit.Restore();
        Assert.All(before, p => Assert.True(Same(model.Parameters()[p.Key], p.Value), p.Key));
        VisualWeights.Dispose([before]);
    }

    [Fact]
    public void TrainingModeLeavesBatchNormStatisticsAlone()
    {
        using var model = Small();
        var stats = model.named_buffers().ToDictionary(b => b.name, b => b.buffer.clone());
        model.train();
        using var x = randn(4, 3, 32, 32);
        model.EncodeImage(x).sum().backward();
        Assert.All(model.named_buffers(), b => Assert.True(Same(b.buffer, stats[b.name]), b.name));
    }

    [Fact]
    public void ViTOnlyLayoutsRefuseAResNetTower()
    {
        using var model = Small();
        var e = Assert.Throws<TbarException>(() => ClipCheckpoint.Save(model, temp, CheckpointLayout.HuggingFace));
        Assert.Contains("needs a ViT image tower", e.Message);
    }
}
