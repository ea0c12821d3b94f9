using System.Diagnostics;
using System.Text.Json;
using Tbar.Cli;
using Tbar.Io;
using Tbar.Pipelines;
using Tbar.Tests.Unlearning;

namespace Tbar.Tests.Cli;

/// <summary>
/// A plan of `tbar experiment main`, `compose`, `arithmetic` or `unlearning`, run cell by cell in separate processes, merges
/// into the one-process table.
/// </summary>
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

    static void Ok(string[] args) => Assert.True(Tbar(args, out var log) == 0, log);

    string[] Compose(string outDir) =>
    [
        "experiment", "compose", "--model", TbarRegressionTests.MiniClip(), "--seeds", "0", "1", "--variants", "plain", "--data", data.Spec,
        "--forget-size", "150", "--val-size", "150", "--threads", "1", "--out", outDir,
    ];

    string[] Arithmetic(string outDir) => Arithmetic(outDir, "badnet:size=3");

    string[] Arithmetic(string outDir, params string[] attacks) =>
    [
        "experiment", "arithmetic", "--model", TbarRegressionTests.MiniClip(), "--attacks", .. attacks, "--seeds", "0", "1",
        "--variants", "plain", "--data", data.Spec, "--forget-size", "150", "--val-size", "150", "--threads", "1", "--out", outDir,
    ];

    string[] Unlearning(string outDir) =>
    [
        "experiment", "unlearning", "--seeds", "2", "--methods", "tbar", "--attack-epochs", "1", "--data", data.Spec, "--forget-size", "150",
        "--val-size", "150", "--threads", "1", "--out", outDir,
    ];

    /// <summary>
    /// Runs <paramref name="experiment"/> in this process into one/, and as a plan into many/: every cell by `tbar plan run` in
    /// its own `dotnet` process, then `tbar plan merge`. Returns both table.md files and the plan.
    /// </summary>
    static (string One, string Many, CellPlan Plan) OneProcessAndCells(Func<string, string[]> experiment, string root)
    {
        string one = Path.Combine(root, "one"), many = Path.Combine(root, "many"), planFile = Path.Combine(root, "plan.json");
        Ok(experiment(one));
        Ok([.. experiment(many), "--plan", planFile]);
        var plan = JsonSerializer.Deserialize<CellPlan>(File.ReadAllText(planFile), RunRecord.Json)!;
        Assert.False(Directory.Exists(many), "--plan computed something");
        foreach (var cell in plan.Cells)
        {
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { Cli, "plan", "run", "--plan", planFile, "--cell", cell.Index.ToString() }) info.ArgumentList.Add(a);
            using var p = Process.Start(info)!;
            string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, output);
            Assert.True(Directory.Exists(cell.CellFolder), $"cell {cell.Index} wrote no {cell.CellFolder}");
        }
        Assert.False(File.Exists(Path.Combine(many, "table.md")), "a cell wrote the experiment's table");
        Ok(["plan", "merge", "--plan", planFile]);
        return (File.ReadAllText(Path.Combine(one, "table.md")), File.ReadAllText(Path.Combine(many, "table.md")), plan);
    }

    static void InTemp(Action<string> test)
    {
        string root = Directory.CreateTempSubdirectory("tbar-plan-").FullName;
        try
        {
            test(root);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    // Minutes on 2 cores: two cells (attack, clean reference, one method with relapse and re-tuning) computed twice.
    [DataFact, Trait("Category", "Slow")]
    public void CellsRunInSeparateProcessesMergeIntoTheOneProcessTable() => InTemp(root =>
    {
        var (one, many, plan) = OneProcessAndCells(Experiment, root);
        Assert.Equal(["badnet", "sig"], plan.Cells.Select(c => c.Attack));
        Assert.Equal(one, many);
    });

    // About a minute on 2 cores: two seeds of two-backdoor models, each cleaned three ways, computed twice.
    [DataFact, Trait("Category", "Slow")]
    public void ComposeCellsMergeIntoTheOneProcessTable() => InTemp(root =>
    {
        var (one, many, plan) = OneProcessAndCells(Compose, root);
        Assert.Equal([0L, 1L], plan.Cells.Select(c => c.Seed));
        Assert.Equal("--collect", plan.MergeArgs[^1]);
        Assert.Equal(one, many);
    });

    // About a minute on 2 cores: two (trigger, seed) cells, one τ variant each, computed twice.
    [DataFact, Trait("Category", "Slow")]
    public void ArithmeticCellsMergeIntoTheOneProcessTable() => InTemp(root =>
    {
        var (one, many, _) = OneProcessAndCells(Arithmetic, root);
        Assert.Equal(one, many);
    });

    // About a minute on 2 cores: two seeds of the demo (attack, clean reference, tbar), computed twice.
    [DataFact, Trait("Category", "Slow")]
    public void UnlearningCellsMergeIntoTheOneProcessTable() => InTemp(root =>
    {
        var (one, many, _) = OneProcessAndCells(Unlearning, root);
        // The seconds column is each run's wall time; everything else must agree.
        Assert.Equal(WithoutLastColumn(one), WithoutLastColumn(many));
        // Rebuilt from the one-process run's own seed folders, the table is that run's, seconds included.
        Ok(["report", "unlearning", "--in", Path.Combine(root, "one")]);
        Assert.Equal(one, File.ReadAllText(Path.Combine(root, "one", "table.md")));
    });

    static string WithoutLastColumn(string table) =>
        string.Join('\n', table.Split('\n').Select(l => l.StartsWith('|') ? l[..l.TrimEnd().TrimEnd('|').LastIndexOf('|')] : l));

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

    [Fact]
    public void ComposeArithmeticAndUnlearningWriteOneJobPerCellAndComputeNothing() => InTemp(root =>
    {
        string outDir = Path.Combine(root, "out"), planFile = Path.Combine(root, "plan.json");
        CellPlan Plan(string[] args)
        {
            Ok([.. args, "--plan", planFile]);
            Assert.False(Directory.Exists(outDir), "--plan computed something");
            return JsonSerializer.Deserialize<CellPlan>(File.ReadAllText(planFile), RunRecord.Json)!;
        }

        var compose = Plan(Compose(outDir));
        Assert.Equal("compose", compose.Experiment);
        Assert.Equal([ComposeExperiment.CellDir(outDir, 0), ComposeExperiment.CellDir(outDir, 1)], compose.Cells.Select(c => c.CellFolder));
        Assert.Equal([.. Compose(outDir), "--cell", "1"], compose.Cells[1].Args);
        Assert.Equal([.. Compose(outDir), "--collect"], compose.MergeArgs);
        Assert.Equal("badnet:size=3@Bag + blended:ratio=0.2@Sneaker", compose.Cells[0].Attack);

        var arithmetic = Plan(Arithmetic(outDir, "badnet:size=3", "blended:ratio=0.2"));
        Assert.Equal([("badnet:size=3", 0L), ("badnet:size=3", 1L), ("blended:ratio=0.2", 0L), ("blended:ratio=0.2", 1L)],
            arithmetic.Cells.Select(c => (c.Attack, c.Seed)));
        Assert.Equal(ArithmeticExperiment.CellDir(outDir, "blended:ratio=0.2", 1), arithmetic.Cells[3].CellFolder);
        Assert.Equal("--collect", arithmetic.MergeArgs[^1]);

        var unlearning = Plan(Unlearning(outDir));
        Assert.Equal([UnlearningExperiment.SeedDir(outDir, 0), UnlearningExperiment.SeedDir(outDir, 1)], unlearning.Cells.Select(c => c.CellFolder));
        Assert.Equal(["report", "unlearning", "--in", outDir], unlearning.MergeArgs);

        foreach (var args in new[] { Compose(outDir), Arithmetic(outDir), Unlearning(outDir) })
        {
            Assert.Equal(TbarCli.UserError, Tbar([.. args, "--cell", "2"], out var log));
            Assert.Contains("outside this experiment's 2 cells", log);
        }
        Assert.Equal(TbarCli.UserError, Tbar([.. Compose(outDir), "--collect"], out var none));
        Assert.Contains("no finished seeds", none);
        Assert.Equal(TbarCli.UserError, Tbar(["report", "unlearning", "--in", outDir], out none));
        Assert.Contains("no such folder", none);
    });
}
