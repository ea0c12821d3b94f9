using System.CommandLine;
using System.Security.Cryptography;
using System.Text.Json;
using Tbar.Cli;

namespace Tbar.Tests.Cli;

/// <summary>The CLI called in-process: exit codes, messages, outputs, and inputs left untouched.</summary>
public class CliTests : TempFolder
{
    static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = TbarCli.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    static string Hash(string dir) => Convert.ToHexString(SHA256.HashData(
        Directory.GetFiles(dir).Order(StringComparer.Ordinal).SelectMany(File.ReadAllBytes).ToArray()));

    [Theory]
    [InlineData("unlearn", "--model", "mini-clip", "--forget", "trigger:badnet", "--target", "Bag")]
    [InlineData("experiment", "main")]
    [InlineData("scan", "--model", "mini-clip")]
    public void AnUnwritableOutIsAnErrorBeforeAnyWork(params string[] args)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (code, _, err) = Run([.. args, "--out", "/proc/tbar-out"]);
        Assert.Equal(1, code);
        Assert.StartsWith("error: /proc/tbar-out: cannot write there", err);
        Assert.True(clock.Elapsed.TotalSeconds < 20, $"took {clock.Elapsed.TotalSeconds:F0} s: the check came after the work");
    }

    [FixtureFact]
    public void EmbedWritesReferenceNumbersAndLeavesInputsAlone()
    {
        string fixture = Fixtures.Dir("clip-tiny-quickgelu"), model = Path.Combine(fixture, "open_clip");
        string before = Hash(model), output = Path.Combine(temp, "e.json");
        var (code, _, err) = Run("embed", "--model", model, "--tokenizer", Path.Combine(fixture, "hf"),
            "--image", Path.Combine(fixture, "inputs", "image1.png"), "--text", "a photo of a cat", "--out", output);
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(File.ReadAllText(output));
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture, "expected.json")));
        double got = doc.RootElement.GetProperty("image_embeddings")[0][0].GetDouble();
        double want = expected.RootElement.GetProperty("image_embeddings")[1][0].GetDouble();
        Assert.InRange(got - want, -1e-4, 1e-4);
        Assert.Equal(expected.RootElement.GetProperty("token_ids")[0].GetRawText().Replace("\n", "").Replace(" ", ""),
            doc.RootElement.GetProperty("token_ids")[0].GetRawText().Replace("\n", "").Replace(" ", ""));
        Assert.Equal(before, Hash(model));
    }

    [FixtureFact]
    public void OpenClipTextWithoutTokenizerSaysWhatToPass()
    {
        var (code, _, err) = Run("embed", "--model", Path.Combine(Fixtures.Dir("clip-tiny-gelu"), "open_clip"),
            "--text", "a dog", "--out", Path.Combine(temp, "x.json"));
        Assert.Equal(1, code);
        Assert.Contains("--tokenizer", err);
        Assert.False(File.Exists(Path.Combine(temp, "x.json")));
    }

    [FixtureFact]
    public void InspectReportsLayoutAndSize()
    {
        var (code, output, _) = Run("inspect", "--model", Path.Combine(Fixtures.Dir("clip-tiny-gelu"), "hf"));
        Assert.Equal(0, code);
        Assert.Contains("HuggingFace", output);
        Assert.Contains("1,727,265", output);
    }

    [FixtureFact]
    public void ZeroShotClassifiesAFolder()
    {
        string fixture = Fixtures.Dir("clip-tiny-gelu");
        var (code, output, err) = Run("zeroshot", "--model", Path.Combine(fixture, "hf"), "--images", Path.Combine(fixture, "inputs"),
            "--classes", "cat,dog", "--json", Path.Combine(temp, "z.json"));
        Assert.True(code == 0, err);
        Assert.Contains("image2.png", output);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(temp, "z.json")));
        Assert.Equal(3, doc.RootElement.GetProperty("predictions").GetArrayLength());
    }

    [Fact]
    public void BadModelPathFailsWithTheNameOfThePath()
    {
        string missing = Path.Combine(temp, "nothing-here");
        var (code, _, err) = Run("inspect", "--model", missing);
        Assert.Equal(1, code);
        Assert.Contains(missing, err);
        Assert.StartsWith("error:", err);
    }

    [Fact]
    public void UnexpectedExceptionsAreInternalErrorsWithAPointerToVerbose()
    {
        Exception thrown;
        try { throw new InvalidOperationException("boom"); } catch (Exception e) { thrown = e; }
        var quiet = new StringWriter();
        Assert.Equal(TbarCli.InternalError, TbarCli.Report(thrown, verbose: false, quiet));
        Assert.StartsWith("internal error: InvalidOperationException: boom", quiet.ToString());
        Assert.Contains("--verbose", quiet.ToString());
        Assert.DoesNotContain(" at ", quiet.ToString());
        var loud = new StringWriter();
        TbarCli.Report(thrown, verbose: true, loud);
        Assert.Contains(" at ", loud.ToString());
        var user = new StringWriter();
        Assert.Equal(TbarCli.UserError, TbarCli.Report(new TbarException("x.safetensors: bad"), verbose: false, user));
        Assert.Equal("error: x.safetensors: bad", user.ToString().Trim());
    }

    /// <summary>Every command of the tree as the words that reach it, sub-commands included ("report main").</summary>
    public static IEnumerable<string[]> CommandPaths(Command command, string[] prefix) =>
        command.Subcommands.SelectMany(c => CommandPaths(c, [.. prefix, c.Name]).Prepend([.. prefix, c.Name]));

    [Fact]
    public void VerboseIsAcceptedByEveryCommand()
    {
        // Parsed, not run: missing required options are errors of their own, but --verbose must never be one.
        var root = TbarCli.Root(new StringWriter(), new StringWriter());
        var paths = CommandPaths(root, []).ToList();
        Assert.True(paths.Count > 20, $"only {paths.Count} commands found");
        foreach (var path in paths)
        {
            var parsed = root.Parse([.. path, "--verbose"]);
            Assert.Equal(path[^1], parsed.CommandResult.Command.Name);
            Assert.DoesNotContain(parsed.Errors, e => e.Message.Contains("--verbose"));
        }
    }

    [Theory]
    [InlineData("inspect", "--no-such-flag")]
    [InlineData("report", "main", "--in", "x", "--no-such-flag")]
    [InlineData("no-such-command")]
    public void UnknownOptionsAndCommandsAreUsageErrorsNamingTheWord(params string[] args)
    {
        var (code, stdout, err) = Run(args);
        Assert.Equal(TbarCli.UserError, code);
        Assert.Contains($"Unrecognized command or argument '{args[^1]}'", err);
        Assert.Contains("Usage:", stdout);
    }

    [Fact]
    public void DemoRejectsAnUnknownMethodBeforeDoingAnyWork()
    {
        var (code, _, err) = Run("demo", "--methods", "tbar,nope", "--out", Path.Combine(temp, "demo"));
        Assert.Equal(1, code);
        Assert.Contains("unknown method 'nope'", err);
        Assert.False(Directory.Exists(Path.Combine(temp, "demo")));
    }
}
