using System.Diagnostics;
using System.Text.Json;
using Tbar.Cli;
using Tbar.Io;
using Tbar.Pipelines;
using Tbar.Tests.Unlearning;

namespace Tbar.Tests.Cli;

/// <summary>A plan of `tbar experiment main`, run cell by cell in separate processes, merges into the one-process table.</summary>
public class PlanTests(FashionMnist1200 data) : IClassFixture<FashionMnist1200>
{
    static readonly string Cli = Path.Combine(AppContext.BaseDirectory, "Tbar.Cli.dll");

    string[] Experiment(string outDir) =>
    [
        "experiment", "main", "--models", TbarRegressionTests.MiniClip(), "--attacks", "badnet", "sig", "--seeds", "0", "--methods", "tbar",
        "--data", data.Spec, "--forget-size", "150", "--val-size", "150", "--attack-epochs", "1", "--retune-k", "10", "--threads", "1",
        "--out", outDir,
    ];

    static int Tbar(string[] args, out string output)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = TbarCli.Run(args, stdout, stderr);
        output = stdout + stderr.ToString();
        return code;
    }

    // Minutes on 2 cores: two cells (attack, clean reference, one method with relapse and re-tuning) computed twice.
    [DataFact, Trait("Category", "Slow")]
    public void CellsRunInSeparateProcessesMergeIntoTheOneProcessTable()
    {
        string root = Directory.CreateTempSubdirectory("tbar-plan-").FullName;
        try
        {
            string one = Path.Combine(root, "one"), many = Path.Combine(root, "many"), planFile = Path.Combine(root, "plan.json");
            Assert.Equal(0, Tbar(Experiment(one), out var log));
            Assert.Equal(0, Tbar([.. Experiment(many), "--plan", planFile], out log));
            var plan = JsonSerializer.Deserialize<CellPlan>(File.ReadAllText(planFile), RunRecord.Json)!;
            Assert.Equal(2, plan.Cells.Count);
            Assert.Equal(["badnet", "sig"], plan.Cells.Select(c => c.Attack));
            Assert.False(Directory.Exists(many), "--plan computed something");
            foreach (var cell in plan.Cells)
            {
                var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
                foreach (var a in new[] { Cli, "plan", "run", "--plan", planFile, "--cell", cell.Index.ToString() }) info.ArgumentList.Add(a);
                using var p = Process.Start(info)!;
                string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
                p.WaitForExit();
                Assert.True(p.ExitCode == 0, output);
            }
            Assert.Equal(0, Tbar([.. plan.MergeArgs], out log));
            Assert.Equal(File.ReadAllText(Path.Combine(one, "table.md")), File.ReadAllText(Path.Combine(many, "table.md")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void ACellOutsideThePlanAndABadPlanFileAreClearErrors()
    {
        string dir = Directory.CreateTempSubdirectory("tbar-plan-").FullName;
        try
        {
            string planFile = Path.Combine(dir, "plan.json");
            Assert.Equal(0, Tbar([.. Experiment(Path.Combine(dir, "out")), "--plan", planFile], out _));
            Assert.Equal(TbarCli.UserError, Tbar(["plan", "run", "--plan", planFile, "--cell", "7"], out var log));
            Assert.Contains("no cell 7", log);
            Assert.Equal(TbarCli.UserError, Tbar([.. Experiment(Path.Combine(dir, "out")), "--cell", "2"], out log));
            Assert.Contains("outside this experiment's 2 cells", log);
            File.WriteAllText(planFile, "{ nope");
            Assert.Equal(TbarCli.UserError, Tbar(["plan", "run", "--plan", planFile, "--cell", "0"], out log));
            Assert.Contains("not a plan file", log);
            Assert.Equal(TbarCli.UserError, Tbar(["report", "main", "--in", Path.Combine(dir, "nothing")], out log));
            Assert.Contains("no such folder", log);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
