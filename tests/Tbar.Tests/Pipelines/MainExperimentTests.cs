using Tbar.Evaluation;
using Tbar.Pipelines;
using Tbar.Reporting;
using Tbar.Tests.Cli;
using Tbar.Tests.Unlearning;
using Tbar.Unlearning;

namespace Tbar.Tests.Pipelines;

/// <summary>The main experiment on 1,200 Fashion-MNIST images: every row measured, files per row, resumption.</summary>
public class MainExperimentTests(FashionMnist1200 data) : IClassFixture<FashionMnist1200>
{
    MainOptions Small(string outDir, string[] methods) => new([new ModelRef("mini-clip", TbarRegressionTests.MiniClip())], ["badnet"], [0], methods, outDir,
        MethodOptions.Default, [10], PoisonRate: 0.1, ForgetSize: 150, ValSize: 150, AttackEpochs: 1, Data: data.Spec);

    // Minutes on 2 cores: an attack, a clean reference and two methods, each with relapse and re-tuning.
    [DataFact, Trait("Category", "Slow")]
    public void EveryRowHasItsMeasuresAndAFinishedCellIsNotRecomputed()
    {
        string dir = Directory.CreateTempSubdirectory("tbar-main-").FullName;
        try
        {
        var o = Small(dir, ["tbar", "repair"]);
        var rows = MainExperiment.Run(o);
        Assert.Equal(["backdoored", "clean_reference", "tbar", "repair"], rows.Select(r => r.Method));
        var backdoored = rows[0];
        Assert.Equal(1.0, backdoored.Retention);
        foreach (var r in rows.Skip(1))
        {
            Assert.NotNull(r.RelapseAsr);
            Assert.Equal(["10"], r.RetuneAsr!.Keys);
            Assert.InRange(r.RetuneAsr["10"], 0, 1);
            Assert.Equal(10, r.PerClass.Count);
            Assert.Equal(r.Ca / backdoored.Ca, r.Retention, 12);
        }
        Assert.Null(rows.Single(r => r.Method == "repair").Alpha);
        Assert.False(rows.Single(r => r.Method == "repair").Negated);

        string cell = MainExperiment.CellDir(dir, "mini-clip", "badnet", 0);
        var stamps = Directory.GetFiles(cell, "*.json").ToDictionary(f => f, File.GetLastWriteTimeUtc);
        var again = MainExperiment.Run(o);
        Assert.Equal(rows.Select(r => (r.Method, r.Ca, r.Asr, r.RelapseAsr)), again.Select(r => (r.Method, r.Ca, r.Asr, r.RelapseAsr)));
        Assert.All(stamps, s => Assert.Equal(s.Value, File.GetLastWriteTimeUtc(s.Key)));
        Assert.Equal(rows.Count, MainExperiment.Collect(dir).Count);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void CleanClipRunsOnContrastiveAttacksOnly()
    {
        var o = Small("unused", ["tbar", "cleanclip"]);
        Assert.Equal(["tbar"], MainExperiment.MethodsFor(o, MainAttacks.Get("badnet")));
        Assert.Equal(["tbar", "cleanclip"], MainExperiment.MethodsFor(o, MainAttacks.Get("badnet-contrastive")));
        var error = Assert.Throws<TbarException>(() => MainAttacks.Get("trojan"));
        Assert.Contains("badclip-contrastive", error.Message);
    }

    static MainRow Row(long seed, string method, double ca, double? alpha) => new("mini-clip", "sig", seed, method, ca, 0.01, 0.9, 0.8,
        ca / 0.9, 0.95, 0.05, new Dictionary<string, double> { ["10"] = 0.2, ["50"] = 0.6 }, alpha, alpha == null ? null : true, "", 1,
        Enumerable.Repeat(new Rate(9, 10), 10).ToList(), null);

    [Fact]
    public void TheTableCountsSeedsWhoseAlphaIsAboveZero()
    {
        var rows = new[] { Row(0, "tbar", 0.8, 2.0), Row(1, "tbar", 0.9, 0.0), Row(0, "finetune", 0.85, null), Row(1, "finetune", 0.87, null) };
        var summary = MainTable.Summary(rows);
        Assert.Equal(1, summary[0].AlphaPositive);
        Assert.Equal(0.85, summary[0].Ca.Mean, 12);
        Assert.Equal(Math.Sqrt(0.005), summary[0].Ca.Std, 12);
        string table = MainTable.Markdown(rows);
        Assert.Contains("**mini-clip, sig** (2 seeds)", table);
        Assert.Contains("| tbar | 2 | 1/2 | 1.00 ± 1.41 | 85.0 ± 7.1 | 1.0 ± 0.0 |", table);
        Assert.Contains("| finetune | 2 | - | - | 86.0 ± 1.4 |", table);
        Assert.Contains("re-tune k=10 ASR | re-tune k=50 ASR |", table);
        Assert.Contains("| 20.0 ± 0.0 | 60.0 ± 0.0 |", table);
    }

    [Fact]
    public void ARowWithFewerFinishedSeedsStatesItsOwnCount()
    {
        var rows = new[]
        {
            Row(0, "tbar", 0.8, 2.0), Row(1, "tbar", 0.9, 0.0), Row(2, "tbar", 0.85, 1.0), Row(0, "finetune", 0.85, null),
            Row(1, "finetune", 0.87, null) with { RelapseAsr = null },
        };
        string table = MainTable.Markdown(rows);
        Assert.Contains("**mini-clip, sig** (2–3 seeds)", table);
        Assert.Contains("| tbar | 3 | 2/3 | 1.00 ± 1.00 | 85.0 ± 5.0 |", table);
        // finetune finished 2 seeds, and relapse was measured in 1 of them.
        Assert.Contains("| finetune | 2 | - | - | 86.0 ± 1.4 |", table);
        Assert.Contains("| 5.0 ± 0.0 (1) |", table);
        Assert.Contains("**mini-clip, sig** (1 seed)", MainTable.Markdown([rows[0]]));
    }
}
