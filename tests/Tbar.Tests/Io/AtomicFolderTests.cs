using Tbar.Io;

namespace Tbar.Tests.Io;

public class AtomicFolderTests : TempFolder
{
    string Out => Path.Combine(temp, "out");

    string[] Siblings() => Directory.GetFileSystemEntries(temp).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    [Fact]
    public void TheFolderAppearsWholeOrNotAtAll()
    {
        Assert.Throws<InvalidOperationException>(() => AtomicFolder.Write(Out, "report.json", stage =>
        {
            File.WriteAllText(Path.Combine(stage, "report.json"), "{}");
            Assert.False(Directory.Exists(Out));
            throw new InvalidOperationException("killed (injected)");
        }));
        Assert.Empty(Siblings());
        AtomicFolder.Write(Out, "report.json", stage => File.WriteAllText(Path.Combine(stage, "report.json"), "1"));
        Assert.Equal(["out"], Siblings());
        Assert.Equal("1", File.ReadAllText(Path.Combine(Out, "report.json")));
    }

    [Fact]
    public void AnEarlierOutputIsReplacedAsAWholeAndSurvivesAFailedRun()
    {
        AtomicFolder.Write(Out, "report.json", stage =>
        {
            File.WriteAllText(Path.Combine(stage, "report.json"), "old");
            File.WriteAllText(Path.Combine(stage, "only-old.txt"), "x");
        });
        Assert.Throws<InvalidOperationException>(() => AtomicFolder.Write(Out, "report.json", _ => throw new InvalidOperationException()));
        Assert.Equal("old", File.ReadAllText(Path.Combine(Out, "report.json")));
        AtomicFolder.Write(Out, "report.json", stage => File.WriteAllText(Path.Combine(stage, "report.json"), "new"));
        Assert.Equal(["report.json"], Directory.GetFiles(Out).Select(Path.GetFileName));
        Assert.Equal(["out"], Siblings());
    }

    [Fact]
    public void AFolderThatIsNotThisKindOfOutputIsNeverReplaced()
    {
        Directory.CreateDirectory(Out);
        File.WriteAllText(Path.Combine(Out, "thesis.tex"), "precious");
        var e = Assert.Throws<TbarException>(() => AtomicFolder.Write(Out, "report.json", _ => { }));
        Assert.Contains("holds no report.json", e.Message);
        Assert.Equal("precious", File.ReadAllText(Path.Combine(Out, "thesis.tex")));
    }

    [Fact]
    public void AnUnwritableLocationIsRefusedBeforeAnythingIsWritten()
    {
        // /proc takes no new files, whoever asks (root included); elsewhere the probe file is made and removed.
        var e = Assert.Throws<TbarException>(() => AtomicFolder.Check("/proc/tbar-out/model", "report.json"));
        Assert.Contains("/proc/tbar-out/model: cannot write there (/proc:", e.Message);
        AtomicFolder.RequireWritable(Path.Combine(Out, "deeper", "still"));
        Assert.Empty(Siblings());
    }

    [Fact]
    public void AnOutputWithoutRoomForTheModelIsRefusedUpFront()
    {
        var e = Assert.Throws<TbarException>(() => AtomicFolder.RequireRoom(Out, long.MaxValue / 2));
        Assert.Matches(@"out: needs about \d+ MB and .* has \d+ MB free", e.Message);
        AtomicFolder.RequireRoom(Out, 1);
    }

    [Fact]
    public void AnInputInsideTheOutputIsRefused()
    {
        AtomicFolder.Write(Out, "report.json", stage => File.WriteAllText(Path.Combine(stage, "report.json"), "1"));
        var e = Assert.Throws<TbarException>(() => AtomicFolder.Write(Out, "report.json", _ => { }, Path.Combine(Out, "report.json")));
        Assert.Contains("inputs are never overwritten", e.Message);
    }

    [Fact]
    public void StagingFoldersOfKilledRunsAreRemovedByTheNextRun()
    {
        string stale = Path.Combine(temp, ".tbar-out.999999999.0123456789abcdef0123456789abcdef.tmp");
        string other = Path.Combine(temp, ".tbar-other.999999999.0123456789abcdef0123456789abcdef.tmp");
        Directory.CreateDirectory(stale);
        Directory.CreateDirectory(other);
        AtomicFolder.Write(Out, "report.json", stage => File.WriteAllText(Path.Combine(stage, "report.json"), "1"));
        Assert.False(Directory.Exists(stale));
        Assert.True(Directory.Exists(other));
    }
}
