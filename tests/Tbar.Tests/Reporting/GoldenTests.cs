using System.Text.Json;
using System.Text.Json.Nodes;
using Tbar.Io;
using Tbar.Pipelines;
using Tbar.Reporting;
using Tbar.Tests.Structure;

namespace Tbar.Tests.Reporting;

/// <summary>
/// The JSON and Markdown of the experiment reports, from <see cref="Samples"/>, against files written by the code before
/// the shapes became typed records: field names, order and values must not move. Set TBAR_WRITE_GOLDEN=1 to rewrite them.
/// </summary>
public class GoldenTests : TempFolder
{
    static void Golden(string name, string actual)
    {
        string path = Path.Combine(SourceFiles.Root(), "tests", "Tbar.Tests", "Reporting", "golden", name);
        if (Environment.GetEnvironmentVariable("TBAR_WRITE_GOLDEN") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, actual);
        }
        Assert.Equal(File.ReadAllText(path), actual);
    }

    static string Json(object? value) => JsonSerializer.Serialize(value, RunRecord.Json);

    static IReadOnlyList<DemoRecord> Seeds => [DemoReport.Results(Samples.Demo(0)), DemoReport.Results(Samples.Demo(1))];

    static IReadOnlyList<VariantResult> Variants =>
    [
        Samples.Variant("badnet:size=3", 0, "plain", 0.5, 0.25), Samples.Variant("badnet:size=3", 1, "plain", 0.75, null),
        Samples.Variant("badnet:size=3", 0, "penalised", 0, null), Samples.Variant("blended:ratio=0.2", 0, "plain", 1.5, 0.5),
    ];

    [Fact]
    public void SeedTableKeepsItsShape()
    {
        Golden("seed-summary.json", Json(SeedTable.Summary(Seeds)));
        Golden("seed-table.md", SeedTable.Markdown(Seeds));
        // tbar's CA is 24/30 and 25/30: mean 81.67 %, sample std 2.36 points.
        Assert.Contains("| tbar | 81.67 ± 2.36 |", SeedTable.Markdown(Seeds));
    }

    [Fact]
    public void SeedTableFromTheSeedFoldersIsTheOneFromMemory()
    {
        for (int seed = 0; seed < 2; seed++)
        {
            string dir = UnlearningExperiment.SeedDir(temp, seed);
            Directory.CreateDirectory(dir);
            new RunRecord("tbar experiment unlearning", new DemoOptions("models/mini-clip", Seed: seed), seed, Seeds[seed], 1)
                .Save(Path.Combine(dir, "results.json"));
        }
        Directory.CreateDirectory(Path.Combine(temp, "seed-x"));
        Directory.CreateDirectory(Path.Combine(temp, "seed-7"));
        var read = SeedTable.Collect(temp);
        Assert.Equal(SeedTable.Markdown(Seeds), SeedTable.Markdown(read));
        Assert.Equal(Json(SeedTable.Summary(Seeds)), Json(SeedTable.Summary(read)));
        Assert.Contains("no finished seeds", Assert.Throws<TbarException>(() => SeedTable.Collect(Path.Combine(temp, "seed-x"))).Message);
    }

    [Fact]
    public void ArithmeticTableKeepsItsShape()
    {
        Golden("arithmetic-summary.json", Json(ArithmeticTable.Summary(Variants)));
        Golden("arithmetic-table.md", ArithmeticTable.Markdown(Variants));
        // badnet plain: α 0.5 and 0.75 → 0.62 ± 0.18; relapse only on seed 0 (25 %).
        Assert.Contains("| badnet | plain | 2/2 (2) | 0.62 ± 0.18 |", ArithmeticTable.Markdown(Variants));
        Assert.EndsWith("| 25.0 ± 0.0 |", ArithmeticTable.Markdown(Variants).Split('\n')[2]);
    }

    [Fact]
    public void OneTriggerTypedTwoWaysIsOneGroupAndOneBackdooredEntry()
    {
        // Runs of one out folder share the cell "blended-seed0" whether the attack was typed bare or with its options.
        IReadOnlyList<VariantResult> rows =
        [
            Samples.Variant("blended:ratio=0.2", 0, "plain", 1.5, 0.5), Samples.Variant("blended", 1, "plain", 0.5, 0.5),
            Samples.Variant("blended", 0, "iter-plain", 1.0, null),
        ];
        string table = ArithmeticTable.Markdown(rows);
        Assert.Contains("| blended | plain | 2/2 (2) | 1.00 ± 0.71 |", table);
        Assert.Single(table.Split('\n'), l => l.StartsWith("| blended | plain"));
        Assert.Single(table.Split("blended: CA").Skip(1));
        Assert.Equal(2, ArithmeticTable.Summary(rows).Count);
    }

    [Fact]
    public void MainTableKeepsItsShape()
    {
        var rows = Samples.MainRows();
        Golden("main-table.md", MainTable.Markdown(rows));
        // sig has seeds 0 and 1 of backdoored and tbar, seed 0 only of finetune: each row says its own n.
        Assert.Contains("**mini-clip, sig** (1–2 seeds)", MainTable.Markdown(rows));
        Assert.Contains("| finetune | 1 | - | - |", MainTable.Markdown(rows));
    }

    [Fact]
    public void ComparisonPutsTheModelsOfOneAttackAndMethodSideBySide()
    {
        var rows = Samples.MainRows();
        Assert.Equal("", MainTable.Comparison(rows));
        rows.Add(Samples.MainRow("badnet", 0, "tbar", [9, 9, 4], 0.5, 0.75) with { Model = "rn18-clip" });
        rows.Add(Samples.MainRow("badnet", 0, "backdoored", [9, 9, 9], null, null) with { Model = "rn18-clip" });
        rows.Add(Samples.MainRow("sig", 0, "tbar", [8, 8, 7], 1, null) with { Model = "rn18-clip" });
        var lines = MainTable.Comparison(rows).TrimEnd('\n').Split('\n');
        // badnet: backdoored and tbar on both models, each model's line under the other; sig: rn18-clip has tbar only.
        Assert.Equal(["badnet backdoored mini-clip", "badnet backdoored rn18-clip", "badnet tbar mini-clip", "badnet tbar rn18-clip",
            "sig tbar mini-clip", "sig tbar rn18-clip"], lines.Skip(2).Select(l => string.Join(' ', l.Split('|')[1..4].Select(c => c.Trim()))));
        // mini-clip badnet tbar: 2 seeds, α 1.5 and 0 → "1/2"; rn18-clip: 1 seed, target class 4/10.
        Assert.StartsWith("| badnet | tbar | mini-clip | 2 | 1/2 |", lines[4]);
        Assert.Contains("| 40.0 ± 0.0 |", lines[5]);
    }

    [Fact]
    public void CellAttackHasTheAnonymousShapeItReplaced()
    {
        var o = Samples.Attack();
        Assert.Equal(Json(new { o.TriggerSpec, o.Test, o.Training }), Json(new CellAttack(o.TriggerSpec, o.Test, o.Training)));
        Assert.StartsWith("{\n  \"trigger_spec\": \"badnet:size=3\",\n  \"test\": {", Json(new CellAttack(o.TriggerSpec, o.Test, o.Training)).ReplaceLineEndings("\n"));
    }

    [Fact]
    public void DemoReportKeepsItsShape()
    {
        var demo = Samples.Demo(1);
        var options = new DemoOptions("models/mini-clip", Seed: 1);
        Golden("demo-results.json", Json(DemoReport.Results(demo)));
        Golden("demo-report.md", DemoReport.Markdown(demo, options));
        var scanned = demo with { Scan = Samples.Verdict(true, 0.02) };
        Golden("demo-results-scan.json", Json(DemoReport.Results(scanned)));
        Golden("demo-report-scan.md", DemoReport.Markdown(scanned, options));
    }

    [Fact]
    public void AgnosticReportKeepsItsShape()
    {
        AgnosticRow[] rows = [Samples.AgnosticRow(1, "clean", false), Samples.AgnosticRow(1, "badnet:size=3", true)];
        var options = new AgnosticOptions("models/mini-clip", ["badnet:size=3"], [1], [100]);
        AgnosticReport.Save(temp, "tbar experiment agnostic", rows, options, Samples.Calibration, 99);
        var written = JsonNode.Parse(File.ReadAllText(Path.Combine(temp, "results.json")))!;
        Golden("agnostic-options.json", written["options"]!.ToJsonString(RunRecord.Json));
        Golden("agnostic-results.json", written["results"]!.ToJsonString(RunRecord.Json));
        Golden("agnostic-table.md", File.ReadAllText(Path.Combine(temp, "table.md")));
        var cleaned = written["results"]!["rows"]![1]!["cleaned"]![0]!;
        Assert.Equal("tbar (inverted)", (string?)cleaned["method"]);
        Assert.Equal(26.0 / 30 / (27.0 / 30), (double)cleaned["retention"]!, 12);
        Assert.Contains("| 1 | badnet:size=3 | 90.0 % / 90.0 % | 2.00 % | backdoored (right) | Dress (90 %) | 86.7 % / 5.0 % / 96.3 % |",
            File.ReadAllText(Path.Combine(temp, "table.md")));
    }
}
