using System.Text.Json;
using Tbar.Io;
using Tbar.Pipelines;
using Tbar.Reporting;

namespace Tbar.Tests.Pipelines;

/// <summary>The detection experiment's table maths on hand-made rows, its folder layout, and that finished cells are not redone.</summary>
public class DetectionExperimentTests : TempFolder
{
    const string Arch = "vit image 28 patch 4 width 64 layers 2 embed 64";

    static ScanScore Score(double pl1, double warp, double score, bool flagged, int inferred = 0) =>
        new(pl1, warp, 0.5, 0.5, score, 0.975, flagged, "decree", inferred, $"class {inferred}", 10, new PeakMemory(200L << 20, "test"));

    static DetectionRow Positive(long seed, double pl1, double warp, double score, bool flagged, int inferred, string model = "mini-clip",
        string arch = Arch) => new(model, "badnet", seed, arch, 0, "class 0", "somewhere", Score(pl1, warp, score, flagged, inferred));

    static HeldOutRow Negative(string name, double pl1, double warp, double score, bool flagged, string arch = Arch) =>
        new(name, $"/models/{name}", arch, Score(pl1, warp, score, flagged));

    static readonly DetectionRow[] Positives =
        [Positive(0, 0.01, 0.9, 0.999, true, 0), Positive(1, 0.02, 0.5, 0.99, true, 0), Positive(2, 0.30, 0.8, 0.5, false, 3)];

    static readonly HeldOutRow[] Negatives =
    [
        Negative("a", 0.2, 0.4, 0.3, false), Negative("b", 0.25, 0.6, 0.6, false), Negative("c", 0.4, 0.3, 0.2, false),
        Negative("d", 0.02, 0.5, 0.98, true), Negative("other-arch", 0.9, 0.0, 0.0, false, "resnet18 embed 64"),
    ];

    [Fact]
    public void TheTableCountsAurocTprAndTheFprBoundAgainstHeldOutModelsOfTheSameArchitecture()
    {
        var s = Assert.Single(DetectionTable.Summary(Positives, Negatives));
        Assert.Equal((3, 4), (s.Seeds, s.Negatives));
        // −PL1: 4 + (3 + ½ for the tie at 0.02) + 1 wins of 12; warp: 4 + (2 + ½) + 4; score: 4 + 4 + 2.
        Assert.Equal(8.5 / 12, s.AurocDecree!.Value, 12);
        Assert.Equal(10.5 / 12, s.AurocWarp!.Value, 12);
        Assert.Equal(10.0 / 12, s.AurocScore!.Value, 12);
        Assert.Equal((2, 2.0 / 3), (s.Flagged, s.Tpr));
        Assert.Equal((1L, 4L, 0.25), (s.Fpr!.Flagged, s.Fpr.Total, s.Fpr.Rate));
        // Clopper–Pearson: P(Binomial(4, u) ≤ 1) = 2.5 % at u ≈ 0.8059.
        Assert.Equal(0.8059, s.Fpr.Upper95, 3);
        Assert.Equal(2, s.TargetRight);
        Assert.Equal(200L << 20, s.PeakRssBytes);
        string table = DetectionTable.Markdown(Positives, Negatives, []);
        Assert.Contains("| mini-clip | badnet | 3 | 0.708 | 0.875 | 0.833 | 2/3 | 1/4 (80.6 %) | 2/3 | 10 | 200 MB |", table);
        Assert.DoesNotContain("## Cleaning", table);
    }

    [Fact]
    public void AModelWithoutHeldOutCleanModelsHasNoAurocAndNoFpr()
    {
        var s = Assert.Single(DetectionTable.Summary([Positive(0, 0.01, 0.9, 0.999, true, 0, "rn18-clip", "resnet embed 32")], Negatives));
        Assert.Equal(0, s.Negatives);
        Assert.Null(s.AurocScore);
        Assert.Null(s.Fpr);
        Assert.Equal(1.0, s.Tpr);
        Assert.Contains("| rn18-clip | badnet | 1 | - | - | - | 1/1 | - | 1/1 |", DetectionTable.Markdown([], [], []) +
            DetectionTable.Markdown([Positive(0, 0.01, 0.9, 0.999, true, 0, "rn18-clip", "resnet embed 32")], Negatives, []));
    }

    [Fact]
    public void NoFalsePositiveInTwentyIsBoundedBySixteenPointEightPercent()
    {
        var negatives = Enumerable.Range(0, 20).Select(i => Negative($"n{i}", 0.3, 0.4, 0.5, false)).ToArray();
        var s = Assert.Single(DetectionTable.Summary(Positives, negatives));
        Assert.Equal(0, s.Fpr!.Rate);
        Assert.Equal(1 - Math.Pow(0.025, 1.0 / 20), s.Fpr.Upper95, 6);
        // −PL1 of seeds 0 and 1 beats all 20 negatives' −0.3; seed 2's ties with every one.
        Assert.Equal(50.0 / 60, s.AurocDecree!.Value, 12);
    }

    DetectionOptions Options(long[] seeds, string[] methods) => new([new ModelRef("mini-clip", Path.Combine(temp, "no-model"))], ["badnet"], seeds,
        [Path.Combine(temp, "no-calibration.json")], [Path.Combine(temp, "clean", "clean-seed-1")], Path.Combine(temp, "out"), methods);

    static void Json<T>(string path, T row)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, JsonSerializer.Serialize(row, RunRecord.Json));
    }

    static readonly ScanWriter Refuse = (_, _, _, _, _, _, _) => throw new InvalidOperationException("a finished cell was scanned again");

    [Fact]
    public void FinishedCellsAreNeitherAttackedNorScannedAgain()
    {
        var o = Options([0], ["tbar"]);
        string cell = DetectionExperiment.CellDir(o.Out, "mini-clip", "badnet", 0);
        Assert.Equal(Path.Combine(o.Out, "mini-clip", "badnet", "seed0"), cell);
        Assert.Equal(Path.Combine(o.Out, "held-out", "clean-seed-1"), DetectionExperiment.HeldOutDir(o.Out, o.HeldOut[0]));
        Assert.Equal(Path.Combine(cell, "cleaning", "tbar.json"), DetectionExperiment.CleaningFile(cell, "tbar"));
        Json(Path.Combine(cell, DetectionExperiment.RowFile), Positives[0]);
        Json(DetectionExperiment.CleaningFile(cell, "tbar"), new CleaningRow("mini-clip", "badnet", 0, "tbar", "decree", "class 0", true, 0.8,
            0.02, 0.7, 0.95, 0.97, 0.1, 2, "α", 30));
        Json(Path.Combine(DetectionExperiment.HeldOutDir(o.Out, o.HeldOut[0]), DetectionExperiment.HeldOutFile), Negatives[0]);
        var stamps = Directory.GetFiles(o.Out, "*.json", SearchOption.AllDirectories).ToDictionary(f => f, File.GetLastWriteTimeUtc);

        // The model, the data and the calibration do not exist: any work would throw.
        Assert.Equal(0, DetectionExperiment.Run(o, Refuse));
        Assert.Equal(0, DetectionExperiment.Run(o with { Methods = ["none"] }, Refuse));
        Assert.All(stamps, s => Assert.Equal(s.Value, File.GetLastWriteTimeUtc(s.Key)));

        // A flagged cell still owes a method of the cleaning stage; an unfinished seed owes everything: both try to work.
        Assert.ThrowsAny<Exception>(() => DetectionExperiment.Run(o with { Methods = ["tbar", "tbar-consistent"] }, Refuse));
        Assert.ThrowsAny<Exception>(() => DetectionExperiment.Run(Options([0, 1], ["none"]), Refuse));

        var (rows, heldOut, cleaning) = DetectionExperiment.Collect(o.Out);
        Assert.Equal([0L], rows.Select(r => r.Seed));
        Assert.Equal(["a"], heldOut.Select(h => h.Name));
        Assert.Equal(["tbar"], cleaning.Select(c => c.Method));
        string table = DetectionTable.Write(o.Out, "test", o with { CollectOnly = true }, 0);
        Assert.Contains("| mini-clip | badnet | 1 | 1.000 | 1.000 | 1.000 | 1/1 | 0/1 (97.5 %) | 1/1 |", table);
        Assert.Contains("| mini-clip | badnet | tbar | 1 | 97.0 ± 0.0 | 2.0 ± 0.0 | 95.0 ± 0.0 | 70.0 ± 0.0 | 10.0 ± 0.0 |", table);
        Assert.True(File.Exists(Path.Combine(o.Out, "results.json")));
    }

    [Fact]
    public void HeldOutModelsAreCellsOfTheirOwnBeforeTheBackdooredOnes()
    {
        var o = Options([0, 1], ["none"]) with { Attacks = ["badnet", "wanet"], HeldOut = ["/m/clean-seed-1", "/m/clean-seed-2"] };
        var cells = DetectionExperiment.Cells(o);
        Assert.Equal(6, cells.Count);
        Assert.Equal(["/m/clean-seed-1", "/m/clean-seed-2"], cells.Take(2).Select(c => c.HeldOut));
        Assert.Equal([(0L, "badnet"), (0, "wanet"), (1, "badnet"), (1, "wanet")], cells.Skip(2).Select(c => (c.Seed, c.Attack!)));
        var heldOut = DetectionExperiment.Narrow(o, 1);
        Assert.Equal((0, 1), (heldOut.Models.Count, heldOut.HeldOut.Length));
        var backdoored = DetectionExperiment.Narrow(o, 5);
        Assert.Equal((1L, "wanet", 0), (backdoored.Seeds.Single(), backdoored.Attacks.Single(), backdoored.HeldOut.Length));
        var plan = CellPlan.ForDetection(o, ["experiment", "detection"], ["experiment", "detection", "--collect"]);
        Assert.Equal(Path.Combine(o.Out, "held-out", "clean-seed-2"), plan.Cells[1].CellFolder);
        Assert.Equal(["experiment", "detection", "--cell", "5"], plan.Cells[5].Args);
        Assert.Throws<TbarException>(() => DetectionExperiment.Check(o with { HeldOut = ["/a/clean-seed-1", "/b/clean-seed-1"] }));
        Assert.Throws<TbarException>(() => DetectionExperiment.Check(o with { Attacks = ["trojan"] }));
    }
}
