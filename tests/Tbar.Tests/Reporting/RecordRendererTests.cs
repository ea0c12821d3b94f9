using System.Text.Json;
using System.Text.Json.Nodes;
using Tbar.Io;
using Tbar.Models;
using Tbar.Reporting;

namespace Tbar.Tests.Reporting;

/// <summary>The smaller renderers: unlearn's report.md, and the zeroshot and embed JSON records.</summary>
public class RecordRendererTests
{
    [Fact]
    public void UnlearnMarkdownHasTheChoiceAndTheCurve()
    {
        string md = UnlearnReport.Markdown(Samples.Unlearned("tbar", 0.5), "bd/", "badnet:size=3", "Dress");
        Assert.StartsWith("# tbar unlearn\n\nModel `bd/`, forget trigger `badnet:size=3`, target `Dress`, method `tbar`.\n\nChoice: α = 0.5\n", md);
        Assert.Contains("Validation CA 80.00 % (8/10), validation ASR 10.00 % (1/10).", md);
        Assert.Contains("| α | val CA | val ASR | val target-class CA |\n|---|---|---|---|\n", md);
        Assert.Contains("| 0 | 90.00 % | 90.00 % | 100.00 % |\n", md);
        Assert.EndsWith("| 0.5 | 80.00 % | 0.00 % |  |\n", md);   // no target-class count at this point
    }

    [Fact]
    public void UnlearnMarkdownWithoutAnAlphaHasNoTable()
    {
        string md = UnlearnReport.Markdown(Samples.Unlearned("finetune", null), "bd/", "badnet:size=3", "Dress");
        Assert.Contains("method `finetune`.\n\nChoice: lr 1e-5\n", md);
        Assert.DoesNotContain("| α |", md);
        Assert.EndsWith("validation ASR 10.00 % (1/10).\n\n", md);
    }

    [Fact]
    public void ZeroShotJsonNamesModelClassesAndPredictions()
    {
        var json = JsonNode.Parse(JsonSerializer.Serialize(
            new ZeroShotRecord("m", ["Bag", "Coat"], [new ZeroShotPrediction("a.png", "Coat", 0.75f)]), RunRecord.Json))!.AsObject();
        Assert.Equal(["model", "classes", "predictions"], json.Select(p => p.Key));
        Assert.Equal("""{"file":"a.png","class":"Coat","probability":0.75}""", json["predictions"]![0]!.ToJsonString());
    }

    [Fact]
    public void EmbedJsonKeepsItsKeysInOrder()
    {
        var result = new EmbedResult([[49406, 320, 49407]], [[0.5f, -1]], [[2, 0.25f]], [[1.5f]]);
        var json = JsonNode.Parse(JsonSerializer.Serialize(EmbedRecord.From("m", ["a.png"], ["a bag"], result),
            RunRecord.Json))!.AsObject();
        Assert.Equal(["model", "images", "texts", "token_ids", "image_embeddings", "text_embeddings", "logits_per_image", "note"],
            json.Select(p => p.Key));
        Assert.Equal("[[0.5,-1]]", json["image_embeddings"]!.ToJsonString());
        Assert.Equal("embeddings are the projected features before L2 normalisation", (string?)json["note"]);
    }
}
