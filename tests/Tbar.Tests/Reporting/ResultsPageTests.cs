using Tbar.Cli;
using Tbar.Io;
using Tbar.Reporting;

namespace Tbar.Tests.Reporting;

/// <summary>`tbar report results`: an experiment folder's RESULTS.md from its run record and table.</summary>
public class ResultsPageTests : TempFolder
{
    string Folder(string name, bool record = true, string table = "table.md")
    {
        string dir = Path.Combine(temp, name);
        Directory.CreateDirectory(dir);
        if (record)
            new RunRecord("/somewhere/bin/Tbar.Cli.dll experiment compose --seeds 0 1", new { }, 0, new { }, 61.4).Save(Path.Combine(dir, "results.json"));
        File.WriteAllText(Path.Combine(dir, table), "| a | b |\n|---|---|\n| 1 | 2 |\n");
        return dir;
    }

    [Fact]
    public void ThePageHoldsTheCommandAsTypedTheCommitAndTheTable()
    {
        string dir = Folder("compose");
        var stdout = new StringWriter();
        Assert.Equal(0, TbarCli.Run(["report", "results", "--in", dir], stdout, new StringWriter()));
        string page = File.ReadAllText(Path.Combine(dir, ResultsPage.FileName));
        Assert.StartsWith("# Results: compose\n", page);
        Assert.Contains("- command: `tbar experiment compose --seeds 0 1`", page);
        Assert.Contains($"- commit: `{new RunRecord("", new { }, 0, new { }, 0).GitCommit}`", page);
        Assert.Contains("after 61 s", page);
        Assert.EndsWith("| a | b |\n|---|---|\n| 1 | 2 |\n", page);
        Assert.Contains(ResultsPage.FileName, stdout.ToString());
    }

    [Fact]
    public void ADemoFolderUsesItsReport()
    {
        string page = ResultsPage.Markdown(Folder("demo", table: "report.md"));
        Assert.Contains("- table: `report.md`", page);
        Assert.Contains("| 1 | 2 |", page);
    }

    [Fact]
    public void AFolderWithoutARunRecordIsAnErrorNamingIt()
    {
        string dir = Folder("loose", record: false);
        var stderr = new StringWriter();
        Assert.Equal(TbarCli.UserError, TbarCli.Run(["report", "results", "--in", dir], new StringWriter(), stderr));
        Assert.Contains($"{dir}: no results.json", stderr.ToString());
        Assert.False(File.Exists(Path.Combine(dir, ResultsPage.FileName)));
    }
}
