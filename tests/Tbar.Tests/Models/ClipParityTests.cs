using System.Text.Json;
using Xunit.Abstractions;
using Tbar.Models;

namespace Tbar.Tests.Models;

/// <summary>Reproduces the reference implementation's outputs stored in ../shared/fixtures (≤ 1e-4 absolute).</summary>
public class ClipParityTests(ITestOutputHelper output)
{
    const double Tolerance = 1e-4;

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var name in Fixtures.Names)
            foreach (var layout in new[] { "hf", "open_clip" }) data.Add(name, layout);
        data.Add(Fixtures.Rn50, "open_clip");
        return data;
    }

    [FixtureTheory]
    [MemberData(nameof(Cases))]
    public void EmbeddingsAndLogitsMatchReference(string fixture, string layout)
    {
        var expected = Expected.Read(fixture);
        using var clip = ClipCheckpoint.Load(Path.Combine(Fixtures.Dir(fixture), layout));
        var tokenizer = ClipTokenizer.FromFolder(Path.Combine(Fixtures.Dir(fixture), "hf"));
        var images = expected.Images.Select(i => Path.Combine(Fixtures.Dir(fixture), "inputs", i)).ToList();

        var result = Embeddings.Compute(clip, tokenizer, images, expected.Texts);

        Assert.Equal(expected.TokenIds, result.TokenIds);
        // The measured errors go to the test log (docs/checkpoints.md quotes them: dotnet test --logger "console;verbosity=detailed").
        output.WriteLine($"{fixture}/{layout}: max abs error image {AssertClose(expected.ImageEmbeddings, result.ImageEmbeddings, "image_embeddings"):E2}, " +
            $"text {AssertClose(expected.TextEmbeddings, result.TextEmbeddings, "text_embeddings"):E2}, " +
            $"logits {AssertClose(expected.LogitsPerImage, result.LogitsPerImage, "logits_per_image"):E2}");
    }

    [FixtureTheory]
    [MemberData(nameof(Cases))]
    public void TextTowerMatchesOnReferenceTokenIds(string fixture, string layout)
    {
        // Isolates the text tower from the tokenizer: the reference's own token ids go in.
        var expected = Expected.Read(fixture);
        using var clip = ClipCheckpoint.Load(Path.Combine(Fixtures.Dir(fixture), layout));
        using var tokens = TorchSharp.torch.tensor(expected.TokenIds.SelectMany(r => r).ToArray(), expected.TokenIds.Length, 77);
        using var guard = TorchSharp.torch.no_grad();
        using var embeddings = clip.EncodeText(tokens);
        var rows = Enumerable.Range(0, expected.TokenIds.Length)
            .Select(r => embeddings[r].data<float>().ToArray()).ToArray();
        AssertClose(expected.TextEmbeddings, rows, "text_embeddings");
    }

    [FixtureFact]
    public void LayoutIsDetectedFromFolderAndFile()
    {
        string dir = Fixtures.Dir("clip-tiny-gelu");
        Assert.Equal(CheckpointLayout.HuggingFace, ClipCheckpoint.Resolve(Path.Combine(dir, "hf")).Layout);
        Assert.Equal(CheckpointLayout.OpenClip, ClipCheckpoint.Resolve(Path.Combine(dir, "open_clip")).Layout);
        Assert.Equal(CheckpointLayout.OpenClip, ClipCheckpoint.Resolve(Path.Combine(dir, "open_clip", "open_clip_model.safetensors")).Layout);
        Assert.Equal(CheckpointLayout.HuggingFace, ClipCheckpoint.Resolve(Path.Combine(dir, "hf", "model.safetensors")).Layout);
    }

    [FixtureFact]
    public void ConfigsOfBothLayoutsAgree()
    {
        foreach (var name in Fixtures.Names)
        {
            var hf = ClipConfigFiles.ReadHuggingFace(Path.Combine(Fixtures.Dir(name), "hf", "config.json"));
            var oc = ClipConfigFiles.ReadOpenClip(Path.Combine(Fixtures.Dir(name), "open_clip", "open_clip_config.json"));
            Assert.Equal(hf.Vision, oc.Vision);
            Assert.Equal(hf.EmbedDim, oc.EmbedDim);
            Assert.Equal(hf.Text with { Pooling = TextPooling.Argmax }, oc.Text);
        }
    }

    static double AssertClose(float[][] expected, float[][] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        for (int r = 0; r < expected.Length; r++)
        {
            Assert.Equal(expected[r].Length, actual[r].Length);
            for (int c = 0; c < expected[r].Length; c++) worst = Math.Max(worst, Math.Abs(expected[r][c] - actual[r][c]));
        }
        Assert.True(worst <= Tolerance, $"{what}: max abs difference {worst:E3} > {Tolerance:E0}");
        return worst;
    }

    sealed record Expected(string[] Images, string[] Texts, long[][] TokenIds, float[][] ImageEmbeddings,
        float[][] TextEmbeddings, float[][] LogitsPerImage)
    {
        public static Expected Read(string fixture)
        {
            var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
            return JsonSerializer.Deserialize<Expected>(File.ReadAllText(Path.Combine(Fixtures.Dir(fixture), "expected.json")), options)!;
        }
    }
}
