using System.Text.Json;
using System.Text.Json.Nodes;
using Tbar.Io;
using Tbar.Reporting;
using Tbar.Tests.Structure;
using Tbar.Unlearning;

namespace Tbar.Tests.Reporting;

/// <summary>The committed demo outputs read back into the typed records and written again: same keys, order and values.</summary>
public class DemoRecordTests
{
    [Theory]
    [InlineData("experiments/demo-seed0/results.json")]
    [InlineData("experiments/demo-seed7/results.json")]
    public void CommittedDemoResultsRoundTrip(string file)
    {
        string path = Path.Combine(SourceFiles.Root(), file);
        var committed = JsonNode.Parse(File.ReadAllText(path))!["results"]!;
        var record = StoredRun<JsonNode, DemoRecord>.Load(path, "tbar demo").Results;
        Assert.Equal(committed.ToJsonString(), JsonSerializer.SerializeToNode(record, RunRecord.Json)!.ToJsonString());
    }
}

/// <summary>The baselines' sweeps in a committed demo read back into <see cref="LrTrial"/> and <see cref="AscentPoint"/>.</summary>
public class BaselineSweepTests
{
    static void RoundTrips<T>(string method)
    {
        var sweeps = JsonNode.Parse(File.ReadAllText(Path.Combine(SourceFiles.Root(), "experiments/demo-seed0/results.json")))!["results"]!["baseline_sweeps"]!;
        var typed = sweeps[method].Deserialize<List<T>>(RecordJson.Strict)!;
        Assert.NotEmpty(typed);
        Assert.Equal(sweeps[method]!.ToJsonString(), JsonSerializer.SerializeToNode(typed, RunRecord.Json)!.ToJsonString());
    }

    [Fact]
    public void FineTuneSweep() => RoundTrips<LrTrial>("finetune");

    [Fact]
    public void GradientAscentTrace() => RoundTrips<AscentPoint>("ga");
}

/// <summary>The committed experiment outputs read back into the typed records and written again: same keys, order and values.</summary>
public class ExperimentRecordTests
{
    /// <summary><paramref name="addedSince"/>: keys the code writes now that the committed file predates (read as null, left out).</summary>
    static void RoundTrips<TOptions, TResults>(string file, params string[] addedSince)
    {
        string path = Path.Combine(SourceFiles.Root(), file);
        var committed = JsonNode.Parse(File.ReadAllText(path))!;
        var run = JsonSerializer.Deserialize<StoredRun<TOptions, TResults>>(File.ReadAllText(path), RunRecord.Json)!;
        Assert.Equal(committed["options"]!.ToJsonString(), JsonSerializer.SerializeToNode(run.Options, RunRecord.Json)!.ToJsonString());
        var results = JsonSerializer.SerializeToNode(run.Results, RunRecord.Json)!;
        DropNull(results, addedSince);
        Assert.Equal(committed["results"]!.ToJsonString(), results.ToJsonString());
    }

    static void DropNull(JsonNode? node, string[] keys)
    {
        if (node is JsonObject o)
        {
            foreach (var key in keys.Where(k => o.ContainsKey(k) && o[k] == null)) o.Remove(key);
            foreach (var (_, child) in o) DropNull(child, keys);
        }
        else if (node is JsonArray a) foreach (var child in a) DropNull(child, keys);
    }

    [Fact]
    public void Unlearning() => 
        RoundTrips<SeedTableSettings, Dictionary<string, SeedSummary>>("experiments/unlearning/results.json", "target_class_ca", "other_classes_ca");

    [Fact]
    public void UnlearningSummaryIsRebuiltFromItsSeedFolders()
    {
        string dir = Path.Combine(SourceFiles.Root(), "experiments/unlearning");
        var committed = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "results.json")))!["results"]!;
        var rebuilt = JsonSerializer.SerializeToNode(SeedTable.Summary(SeedTable.Collect(dir)), RunRecord.Json)!;
        // The seed folders predate the target-class columns: those are NaN here and absent there.
        foreach (var (_, row) in rebuilt.AsObject()) { row!.AsObject().Remove("target_class_ca"); row.AsObject().Remove("other_classes_ca"); }
        Assert.Equal(committed.ToJsonString(), rebuilt.ToJsonString());
    }

    [Fact]
    public void Agnostic() => RoundTrips<AgnosticSettings, AgnosticResults>("experiments/agnostic/results.json");

    [Fact]
    public void Arithmetic() => RoundTrips<JsonNode, List<ArithmeticSummaryRow>>("experiments/arithmetic/results.json");
}
