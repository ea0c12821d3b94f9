using System.Text.Json;
using System.Text.Json.Nodes;
using Tbar.Io;
using Tbar.Pipelines;
using Tbar.Reporting;
using Tbar.Tests.Structure;
using static TorchSharp.torch;

namespace Tbar.Tests.Reporting;

/// <summary>`experiment attacks` is too slow to run in a test; its renderer is checked against the committed outputs instead.</summary>
public class AttackTableTests : TempFolder
{
    static string Committed(string file) => Path.Combine(SourceFiles.Root(), "experiments", "attacks", file);

    [Fact]
    public void RendersTheCommittedTableFromTheCommittedResults()
    {
        var run = StoredRun<AttackTableSettings, List<AttackTableRow>>.Load(Committed("results.json"), "tbar experiment attacks");
        Assert.Equal(File.ReadAllText(Committed("table.md")), AttackTable.Markdown(run.Results, run.Options));
    }

    [Fact]
    public void WritesTheCommittedFieldNamesAndValues()
    {
        var run = StoredRun<AttackTableSettings, List<AttackTableRow>>.Load(Committed("results.json"), "tbar experiment attacks");
        var committed = JsonNode.Parse(File.ReadAllText(Committed("results.json")))!;
        Assert.Equal(committed["options"]!.ToJsonString(), JsonSerializer.SerializeToNode(run.Options, RunRecord.Json)!.ToJsonString());
        var rows = JsonSerializer.SerializeToNode(run.Results, RunRecord.Json)!.AsArray();
        // The committed run predates per-class counts; everything else must match key for key, in order.
        foreach (var row in rows) row!["metrics"]!.AsObject().Remove("per_class_counts");
        Assert.Equal(committed["results"]!.ToJsonString(), rows.ToJsonString());
    }

    [Fact]
    public void SaveWritesResultsTableAndPatch()
    {
        var result = new AttackExperimentResult(
            [
                new AttackRow("pretrained", "-", Samples.Metrics([7, 8, 9]), 2.4),
                new AttackRow("backdoored (supervised)", "badnet:size=3", Samples.Metrics([9, 8, 10], 19, 1), 57.6),
            ],
            new Dictionary<string, Tensor> { ["badclip"] = full(3, 4, 4, 0.5f) });
        string table = AttackTable.Save(temp, "tbar experiment attacks", new AttackTableSettings("Dress", 0.03, "models/mini-clip"), 0, result, 61);

        Assert.Equal(table, File.ReadAllText(Path.Combine(temp, "table.md")));
        Assert.StartsWith("Target 'Dress', poison rate 3 % of half B", table);
        Assert.Contains("| pretrained | `-` | 80.00 % | - | - | 2 |", table);
        Assert.Contains("| backdoored (supervised) | `badnet:size=3` | 90.00 % | 95.00 % | 5.00 % | 58 |", table);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(temp, "results.json")))!;
        Assert.Equal(0.03, (double)json["options"]!["poison_rate"]!);
        var metrics = json["results"]![1]!["metrics"]!;
        Assert.Equal(19, (long)metrics["asr_hits"]!);
        Assert.Equal(0.05, (double)metrics["bd_acc"]!);
        Assert.Equal("[[9,10],[8,10],[10,10]]", metrics["per_class_counts"]!.ToJsonString());
        Assert.True(File.Exists(Path.Combine(temp, "badclip", "patch.png")));
    }
}
