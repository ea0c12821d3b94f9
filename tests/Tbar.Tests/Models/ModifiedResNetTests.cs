using System.Text.Json.Nodes;
using Tbar.Io;
using Tbar.Models;
using Tbar.Unlearning;
using static TorchSharp.torch;

namespace Tbar.Tests.Models;

/// <summary>
/// The ModifiedResNet (CLIP RN50) tower on the clip-rn50-narrow fixture (read in place; bad folders are edited copies):
/// its open_clip key map, BatchNorm statistics as frozen buffers outside task vectors, and clear errors on bad folders.
/// Embedding parity and the bit-exact write-back are in <see cref="ClipParityTests"/> and <see cref="CheckpointTests"/>.
/// </summary>
public class ModifiedResNetTests : TempFolder
{
    static string Folder => Path.Combine(Fixtures.Dir(Fixtures.Rn50), "open_clip");
    static string Weights => Path.Combine(Folder, "open_clip_model.safetensors");

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [FixtureFact]
    public void TheKeyMapConsumesEveryStoredTensorWithItsDtype()
    {
        using var clip = ClipCheckpoint.Load(Folder, out var report);
        var file = SafeTensors.Open(Weights);
        var rules = Layouts.Rules(CheckpointLayout.OpenClip, clip.Config);

        Assert.IsType<ModifiedResNetConfig>(clip.Config.Vision);
        Assert.Empty(report.IgnoredKeys);
        Assert.Equal(file.Entries.Select(e => e.Name).Order(), rules.SelectMany(r => r.External).Order());
        // 3 stem norms + one per conv of 16 bottlenecks + 4 downsample norms, each with an I64 count.
        var counts = clip.Origin!.StoredDTypes.Where(p => p.Key.EndsWith("num_batches_tracked")).ToList();
        Assert.Equal(3 + 16 * 3 + 4, counts.Count);
        Assert.All(counts, p => Assert.Equal(ScalarType.Int64, p.Value));
    }

    [FixtureFact]
    public void TaskVectorsCoverParametersOnlyAndBatchNormStatisticsAreBuffers()
    {
        using var clip = ClipCheckpoint.Load(Folder);
        var keys = VisualWeights.Keys(clip);
        var buffers = clip.Visual.named_buffers().Select(b => b.name).ToList();
        Assert.Contains("layer3.5.bn2.weight", keys.Select(k => k["visual.".Length..]));
        Assert.Contains("attnpool.c_proj.weight", keys.Select(k => k["visual.".Length..]));
        Assert.DoesNotContain(keys, k => k.Contains("running_") || k.Contains("num_batches_tracked"));
        Assert.Contains("layer4.0.downsample.1.running_var", buffers);
        Assert.Contains("layer4.0.downsample.1.num_batches_tracked", buffers);
        Assert.Equal(clip.Visual.ReadoutParameters.Select(n => "visual." + n).Order(),
            keys.Where(k => k.StartsWith("visual.attnpool.c_proj")).Order());

        ResNetTowerTests.AssertEditUndoesExactly(clip, keys, "visual.layer1.0.bn3.weight");
    }

    [FixtureFact]
    public void TrainingModeLeavesBatchNormStatisticsAlone()
    {
        using var clip = ClipCheckpoint.Load(Folder);
        var stats = clip.named_buffers().ToDictionary(b => b.name, b => b.buffer.clone());
        using var x = randn(2, 3, 64, 64);
        using (no_grad())
        {
            using var inEval = clip.EncodeImage(x);
            clip.train();
            using var inTrain = clip.EncodeImage(x);
            Assert.True(Same(inEval, inTrain));
        }
        clip.EncodeImage(x).sum().backward();
        Assert.All(clip.named_buffers(), b => Assert.True(Same(b.buffer, stats[b.name]), b.name));
    }

    [FixtureFact]
    public void TrunkThenReadoutIsTheForward()
    {
        using var clip = ClipCheckpoint.Load(Folder);
        using var x = randn(2, 3, 64, 64);
        using var guard = no_grad();
        using var trunk = clip.Visual.Trunk(x);
        Assert.Equal([2L, 16 * 32], trunk.shape);
        Assert.True(Same(clip.Visual.Readout(trunk), clip.EncodeImage(x)));
    }

    /// <summary>
    /// The attention pool, longhand: with random fixture weights its attention is nearly uniform, so parity alone cannot tell
    /// which token queries (the wrong one moves the embeddings by 6e-7). Here weights are scaled so attention is peaked, and
    /// each head's softmax(q·k/√d)·v of the mean token is computed element by element.
    /// </summary>
    [Fact]
    public void AttentionPoolingIsTheMeanTokensAttentionLonghand()
    {
        const int grid = 2, width = 8, heads = 2, embed = 3, d = width / heads;
        using var pool = new AttentionPool(grid, width, heads, embed);
        var g = new Generator(11);
        using (no_grad())
            foreach (var (_, p) in pool.named_parameters()) p.copy_(randn(p.shape, generator: g) * 2);
        using var map = randn([1, width, grid, grid], generator: g);
        using var guard = no_grad();
        var w = pool.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var tokens = map.flatten(2)[0].t();                                           // (HW, C)
        var x = cat([tokens.mean([0], keepdim: true), tokens], 0) + w["positional_embedding"];
        Tensor Project(string name, Tensor t) => t.matmul(w[$"{name}.weight"].t()) + w[$"{name}.bias"];
        var (q, k, v) = (Project("q_proj", x[0]), Project("k_proj", x), Project("v_proj", x));
        var expected = new float[width];
        for (int h = 0; h < heads; h++)
        {
            var scores = Enumerable.Range(0, grid * grid + 1).Select(n =>
                Enumerable.Range(h * d, d).Sum(i => q[i].item<float>() * k[n, i].item<float>()) / Math.Sqrt(d)).ToArray();
            var weights = scores.Select(s => Math.Exp(s - scores.Max())).ToArray();
            Assert.True(weights.Max() / weights.Sum() > 0.5, "attention should be peaked for this test to mean anything");
            for (int i = h * d; i < (h + 1) * d; i++)
                expected[i] = (float)(Enumerable.Range(0, weights.Length).Sum(n => weights[n] * v[n, i].item<float>()) / weights.Sum());
        }
        using var pooled = pool.Pool(map);
        var actual = pooled[0].data<float>().ToArray();
        for (int i = 0; i < width; i++) Assert.Equal(expected[i], actual[i], 4);
    }

    public static TheoryData<string, string> BadFolders() => new()
    {
        { "three-stages", "a ModifiedResNet has 4 stages, 'layers' lists 3" },
        { "layers-more-blocks", "expected key(s) missing, e.g. 'visual.layer4.3.conv1.weight'" },
        { "layers-string", "'layers' = [3,\"4\",6,3] must list non-negative integers" },
        { "image-size-48", "multiple of 32" },
        { "huge-width", "the config implies at least" },
        { "missing-attnpool-key", "expected key(s) missing, e.g. 'visual.attnpool.q_proj.weight'" },
        { "wrong-shape", "tensor 'visual.attnpool.c_proj.weight' has shape [64,500], the config implies [64,512]" },
        { "float-count", "tensor 'visual.bn1.num_batches_tracked' has dtype F32, expected I64" },
        { "integer-weight", "tensor 'visual.conv1.weight' has dtype I64, expected a floating-point type" },
    };

    [FixtureTheory]
    [MemberData(nameof(BadFolders))]
    public void BadRn50FoldersGiveClearErrors(string kind, string expected)
    {
        CheckpointTests.AssertClearLoadError(BadFolder(temp, kind), expected);
    }

    /// <summary>A copy of the fixture's open_clip folder under <paramref name="parent"/> with one defect.</summary>
    static string BadFolder(string parent, string kind)
    {
        string dir = Path.Combine(parent, kind);
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Folder)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        string config = Path.Combine(dir, "open_clip_config.json"), weights = Path.Combine(dir, "open_clip_model.safetensors");
        switch (kind)
        {
            case "three-stages": EditVision(config, v => v["layers"] = new JsonArray(3, 4, 6)); break;
            case "layers-more-blocks": EditVision(config, v => v["layers"] = new JsonArray(3, 4, 6, 4)); break;
            case "layers-string": EditVision(config, v => v["layers"] = new JsonArray(3, "4", 6, 3)); break;
            case "image-size-48": EditVision(config, v => v["image_size"] = 48); break;
            case "huge-width": EditVision(config, v => v["width"] = 4096); break;
            case "missing-attnpool-key": EditWeights(weights, t => t.Remove("visual.attnpool.q_proj.weight")); break;
            case "wrong-shape": EditWeights(weights, t => t["visual.attnpool.c_proj.weight"] = zeros(64, 500)); break;
            case "float-count": EditWeights(weights, t => t["visual.bn1.num_batches_tracked"] = t["visual.bn1.num_batches_tracked"].to(ScalarType.Float32)); break;
            case "integer-weight": EditWeights(weights, t => t["visual.conv1.weight"] = t["visual.conv1.weight"].to(ScalarType.Int64)); break;
        }
        return dir;
    }

    static void EditVision(string path, Action<JsonObject> edit)
    {
        var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(root["model_cfg"]!["vision_cfg"]!.AsObject());
        File.WriteAllText(path, root.ToJsonString());
    }

    static void EditWeights(string path, Action<Dictionary<string, Tensor>> edit)
    {
        var tensors = SafeTensors.Load(path);
        edit(tensors);
        SafeTensors.Save(path, tensors);
    }

    [Fact]
    public void TheParameterBoundNeverExceedsTheTowersCount()
    {
        // The bound guards against memory bombs before allocation; above the true count it would refuse a valid file.
        var config = ClipConfig.Rn50() with { Vision = new ModifiedResNetConfig(64, [3, 4, 6, 3], 16, 8) };
        using var clip = new Clip(config);
        long tower = clip.Visual.parameters().Sum(p => p.numel());
        long bound = config.Vision.ParameterLowerBound(config.EmbedDim);
        Assert.InRange(bound, tower * 0.95, tower);
    }

    [Fact]
    public void TheHuggingFaceLayoutRefusesAModifiedResNet()
    {
        var e = Assert.Throws<TbarException>(() => ClipConfigFiles.HuggingFaceJson(ClipConfig.Rn50()));
        Assert.Contains("needs a ViT image tower", e.Message);
        var stderr = new StringWriter();
        Assert.Equal(1, Tbar.Cli.TbarCli.Run(["init", "--arch", "rn50", "--layout", "hf", "--out", Path.Combine(temp, "x")], new StringWriter(), stderr));
        Assert.Contains("--arch rn50 has a modified-resnet image tower, which the Hugging Face layout cannot hold", stderr.ToString());
        Assert.False(Directory.Exists(Path.Combine(temp, "x")));
    }

    [Fact]
    public void OpenClipConfigTextReadsBackAsTheSameShape()
    {
        var config = ClipConfig.Rn50();
        string path = Path.Combine(temp, "open_clip_config.json");
        File.WriteAllText(path, ClipConfigFiles.OpenClipJson(config));
        var back = ClipConfigFiles.ReadOpenClip(path);
        Assert.Equal(config.Vision, back.Vision);
        Assert.Equal(config.EmbedDim, back.EmbedDim);
        Assert.Equal(config.Text, back.Text);
    }
}
