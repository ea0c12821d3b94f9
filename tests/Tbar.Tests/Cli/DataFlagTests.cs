using Tbar.Cli;

namespace Tbar.Tests.Cli;

/// <summary>One flag for the data spec, <c>--data</c>; the older <c>--val</c> and <c>--clean</c> still parse, hidden.</summary>
public class DataFlagTests
{
    static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = TbarCli.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Theory]
    [InlineData("unlearn", "--val")]
    [InlineData("scan", "--clean")]
    public void HelpShowsDataAndHidesTheOldName(string command, string old)
    {
        var (code, output, _) = Run(command, "--help");
        Assert.Equal(0, code);
        Assert.Contains("--data", output);
        Assert.DoesNotContain(old + " ", output);
    }

    [Fact]
    public void GivingTheSpecUnderBothNamesIsAUsageError()
    {
        var (code, _, err) = Run("unlearn", "--model", "mini-clip", "--forget", "trigger:badnet:size=3", "--target", "Bag",
            "--data", "fashion-mnist", "--val", "fashion-mnist", "--out", Path.Combine(Path.GetTempPath(), "tbar-never-written"));
        Assert.Equal(TbarCli.UserError, code);
        Assert.Contains("--data and --val", err);
    }

    [Fact]
    public void TheOldNameStillNamesTheSpec()
    {
        var (code, _, err) = Run("scan", "--model", "mini-clip", "--clean", "no-such-kind:x", "--threshold", "0.05", "--out",
            Path.Combine(Path.GetTempPath(), "tbar-never-written"));
        Assert.Equal(TbarCli.UserError, code);
        Assert.Contains("no-such-kind", err);
    }
}
