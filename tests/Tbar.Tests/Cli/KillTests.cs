using System.Diagnostics;
using System.Security.Cryptography;
using Tbar.Models;

namespace Tbar.Tests.Cli;

/// <summary>
/// SIGKILLs real `tbar attack` and `tbar unlearn` processes at several points, including while the output folder is being
/// written. After each kill the output is absent or complete and loadable, the inputs are byte-identical, and the next run
/// to the same place completes and leaves no temporary files. Slow: run with ./test.sh --filter "Category=Slow".
/// </summary>
public class KillTests(FashionMnist1200 data) : TempFolder, IClassFixture<FashionMnist1200>
{
    static readonly string Cli = Path.Combine(AppContext.BaseDirectory, "Tbar.Cli.dll");
    // Kill points: during start-up and loading, during training, and the moment the staging folder appears.
    static readonly double[] DelaysSeconds = [0.5, 2, 4];

    static string Hash(string path) => Convert.ToHexString(SHA256.HashData(
        (Directory.Exists(path) ? Directory.GetFiles(path, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray() : [path])
            .SelectMany(File.ReadAllBytes).ToArray()));

    static Process Start(string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Cli);
        foreach (var a in args) info.ArgumentList.Add(a);
        var p = Process.Start(info)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>Kills after <paramref name="delay"/> seconds, or (null) as soon as a staging folder for <paramref name="output"/> exists.</summary>
    static bool KillAt(Process p, string output, double? delay)
    {
        var clock = Stopwatch.StartNew();
        string parent = Path.GetDirectoryName(output)!, staging = $".tbar-{Path.GetFileName(output)}.";
        while (!p.HasExited)
        {
            bool now = delay is { } d ? clock.Elapsed.TotalSeconds >= d : Directory.EnumerateDirectories(parent, staging + "*").Any();
            if (now)
            {
                p.Kill();   // SIGKILL on Unix: no handler, no finally blocks
                p.WaitForExit();
                return true;
            }
            Thread.Sleep(2);
        }
        return false;
    }

    void KillAndCheck(string[] args, string output, string ownFile, string[] inputs)
    {
        var before = inputs.Select(Hash).ToList();
        foreach (double? delay in DelaysSeconds.Cast<double?>().Append(null))
        {
            using var p = Start(args);
            bool killed = KillAt(p, output, delay);
            // The staging kill must land: the folder being written is the point of the test. Timed kills may come too late on a fast machine.
            Assert.True(killed || delay != null, "the run ended before its staging folder was seen");
            Assert.True(!killed || !Directory.Exists(output) || Complete(output, ownFile), $"kill at {delay?.ToString() ?? "staging"}: incomplete {output}");
            Assert.Equal(before, inputs.Select(Hash).ToList());
        }
        using var last = Start(args);
        Assert.True(last.WaitForExit(TimeSpan.FromMinutes(5)) && last.ExitCode == 0, "the run after the kills failed");
        Assert.True(Complete(output, ownFile));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(output)!, ".tbar-*"));
        Assert.Empty(Directory.EnumerateFiles(output, "*.tmp", SearchOption.AllDirectories));
        Assert.Equal(before, inputs.Select(Hash).ToList());
    }

    static bool Complete(string output, string ownFile)
    {
        using var model = ClipCheckpoint.Load(output);
        System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(output, ownFile))).Dispose();
        return true;
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void KilledAttackAndUnlearnLeaveNothingHalfWritten()
    {
        string model = Path.Combine(temp, "mini-clip");
        Directory.CreateDirectory(model);
        foreach (var f in Directory.GetFiles(Twice.MiniClip)) File.Copy(f, Path.Combine(model, Path.GetFileName(f)));
        string attacked = Path.Combine(temp, "attacked");
        KillAndCheck(["attack", "--model", model, "--data", data.Spec, "--trigger", "badnet:size=3", "--target", "Bag", "--poison-rate", "0.1",
            "--epochs", "2", "--out", attacked], attacked, "attack.json", [model, data.Folder]);
        string cleaned = Path.Combine(temp, "cleaned");
        KillAndCheck(["unlearn", "--model", attacked, "--forget", "trigger:badnet:size=3", "--target", "Bag", "--val", data.Spec,
            "--forget-size", "100", "--val-size", "100", "--out", cleaned], cleaned, "report.json", [attacked, data.Folder]);
    }
}
