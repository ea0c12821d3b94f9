using System.Text.Json.Nodes;
using Tbar.Io;
using Tbar.Models;

namespace Tbar.Tests.Models;

public class CheckpointTests : TempFolder
{
    [FixtureTheory]
    [InlineData("clip-tiny-quickgelu", "hf", "model.safetensors")]
    [InlineData("clip-tiny-gelu", "open_clip", "open_clip_model.safetensors")]
    [InlineData("clip-tiny-gelu", "hf", "model.safetensors")]
    [InlineData("clip-vit-p16", "hf", "model.safetensors")]
    [InlineData("clip-vit-p16", "open_clip", "open_clip_model.safetensors")]
    [InlineData("clip-vit-p14", "hf", "model.safetensors")]
    [InlineData("clip-vit-p14", "open_clip", "open_clip_model.safetensors")]
    [InlineData(Fixtures.Rn50, "open_clip", "open_clip_model.safetensors")]
    public void SaveThenReloadGivesIdenticalTensorsAndKeys(string fixture, string layout, string weights)
    {
        string source = Path.Combine(Fixtures.Dir(fixture), layout);
        using (var clip = ClipCheckpoint.Load(source)) ClipCheckpoint.Save(clip, temp);

        AssertSameTensors(Path.Combine(source, weights), Path.Combine(temp, weights));
        using var reloaded = ClipCheckpoint.Load(temp);
        Assert.Equal(File.ReadAllBytes(Directory.GetFiles(source, "*config.json")[0]),
            File.ReadAllBytes(Directory.GetFiles(temp, "*config.json")[0]));
    }

    [FixtureFact]
    public void HuggingFaceConvertsToOpenClipExactly()
    {
        string dir = Fixtures.Dir("clip-tiny-quickgelu");
        using var clip = ClipCheckpoint.Load(Path.Combine(dir, "hf"));
        ClipCheckpoint.Save(clip, temp, CheckpointLayout.OpenClip);
        // A converted file carries {"format": "pt"} (what transformers expects); only the tensors are compared.
        AssertSameTensors(Path.Combine(dir, "open_clip", "open_clip_model.safetensors"), Path.Combine(temp, "open_clip_model.safetensors"),
            compareMetadata: false);
    }

    [FixtureFact]
    public void SavingIntoTheInputFolderIsRefused()
    {
        string dir = Path.Combine(Fixtures.Dir("clip-tiny-gelu"), "hf");
        using var clip = ClipCheckpoint.Load(dir);
        var e = Assert.Throws<TbarException>(() => ClipCheckpoint.Save(clip, dir));
        Assert.Contains("never overwritten", e.Message);
    }

    [FixtureFact]
    public void ExtraKeysArePassedThroughAndReported()
    {
        string model = CopyFixture("hf");
        var tensors = SafeTensors.Load(Path.Combine(model, "model.safetensors"));
        tensors["text_model.embeddings.position_ids"] = TorchSharp.torch.arange(77, dtype: TorchSharp.torch.ScalarType.Int64).unsqueeze(0);
        SafeTensors.Save(Path.Combine(model, "model.safetensors"), tensors);

        using var clip = ClipCheckpoint.Load(model, out var report);
        Assert.Equal(["text_model.embeddings.position_ids"], report.IgnoredKeys);
        string output = Path.Combine(temp, "out");
        ClipCheckpoint.Save(clip, output);
        AssertSameTensors(Path.Combine(model, "model.safetensors"), Path.Combine(output, "model.safetensors"));
    }

    public static TheoryData<string, string> BadFolders() => new()
    {
        { "empty", "not a CLIP model folder" },
        { "weights-without-config", "no config.json" },
        { "pickle-only", "pickle checkpoints are never loaded" },
        { "too-many-layers", "expected key(s) missing" },
        { "wrong-width", "the config implies" },
        { "bad-json", "invalid JSON" },
        { "unknown-activation", "hidden_act 'swish' is not supported" },
        { "nan-weights", "NaN or infinite" },
        { "truncated-weights", "model.safetensors" },
    };

    [FixtureTheory]
    [MemberData(nameof(BadFolders))]
    public void BadModelFoldersGiveClearErrors(string kind, string expected)
    {
        AssertClearLoadError(MakeBadFolder(kind), expected);
    }

    /// <summary>Loading <paramref name="dir"/> throws a TbarException naming it and saying <paramref name="expected"/>; `tbar inspect` exits 1 with it.</summary>
    internal static void AssertClearLoadError(string dir, string expected)
    {
        var e = Assert.Throws<TbarException>(() => ClipCheckpoint.Load(dir));
        Assert.Contains(expected, e.Message);
        Assert.Contains(dir, e.Message);
        var stderr = new StringWriter();
        Assert.Equal(1, Tbar.Cli.TbarCli.Run(["inspect", "--model", dir], new StringWriter(), stderr));
        Assert.Contains(expected, stderr.ToString());
    }

    string MakeBadFolder(string kind)
    {
        string dir = CopyFixture("hf");
        string config = Path.Combine(dir, "config.json"), weights = Path.Combine(dir, "model.safetensors");
        switch (kind)
        {
            case "empty": foreach (var f in Directory.GetFiles(dir)) File.Delete(f); break;
            case "weights-without-config": File.Delete(config); break;
            case "pickle-only": File.Delete(config); File.Move(weights, Path.Combine(dir, "pytorch_model.bin")); break;
            case "too-many-layers": EditConfig(config, c => c["vision_config"]!["num_hidden_layers"] = 3); break;
            case "wrong-width": EditConfig(config, c => c["vision_config"]!["intermediate_size"] = 100); break;
            case "bad-json": File.WriteAllText(config, "{\"model_type\": \"clip\", "); break;
            case "unknown-activation": EditConfig(config, c => c["text_config"]!["hidden_act"] = "swish"); break;
            case "nan-weights": PoisonWeights(weights); break;
            case "truncated-weights": File.WriteAllBytes(weights, File.ReadAllBytes(weights)[..1000]); break;
        }
        return dir;
    }

    static void EditConfig(string path, Action<JsonObject> edit)
    {
        var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(root);
        File.WriteAllText(path, root.ToJsonString());
    }

    static void PoisonWeights(string path)
    {
        var tensors = SafeTensors.Load(path);
        tensors["vision_model.post_layernorm.weight"][0] = float.NaN;
        SafeTensors.Save(path, tensors);
    }

    string CopyFixture(string layout)
    {
        string dst = Path.Combine(temp, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dst);
        foreach (var f in Directory.GetFiles(Path.Combine(Fixtures.Dir("clip-tiny-gelu"), layout)))
            File.Copy(f, Path.Combine(dst, Path.GetFileName(f)));
        return dst;
    }

    internal static void AssertSameTensors(string expectedPath, string actualPath, bool compareMetadata = true)
    {
        var expected = SafeTensors.Open(expectedPath);
        var actual = SafeTensors.Open(actualPath);
        Assert.Equal(expected.Entries.Select(e => e.Name), actual.Entries.Select(e => e.Name));
        if (compareMetadata) Assert.Equal(expected.Metadata, actual.Metadata);
        foreach (var e in expected.Entries)
        {
            Assert.Equal(e.DType, actual.Entry(e.Name).DType);
            Assert.Equal(e.Shape, actual.Entry(e.Name).Shape);
            Assert.True(StoredBytes(expected, e.Name).SequenceEqual(StoredBytes(actual, e.Name)), $"tensor {e.Name} differs");
        }
    }

    /// <summary>A tensor's bytes as stored (read in its stored dtype, so nothing is converted).</summary>
    internal static byte[] StoredBytes(SafeTensorsFile file, string name)
    {
        using var t = file.ReadTensor(name);
        return t.bytes.ToArray();
    }
}
