using System.Text.Json.Nodes;
using Tbar.Cli;

namespace Tbar.Tests.Cli;

/// <summary>
/// The same command with the same seed, run twice in-process on a small slice of Fashion-MNIST, gives bit-identical
/// weights, τ, inverted trigger and report numbers (timings, dates and paths aside).
/// </summary>
public static class Twice
{
    static readonly string[] Unstable = ["seconds", "written_at", "command", "git_commit"];

    /// <summary>Runs the command once per output folder (out-1, out-2 under <paramref name="root"/>); fails on a non-zero exit.</summary>
    public static string[] Run(string root, string name, Func<string, string[]> args)
    {
        string[] outs = [Path.Combine(root, name + "-1"), Path.Combine(root, name + "-2")];
        foreach (var o in outs)
        {
            var stderr = new StringWriter();
            int code = TbarCli.Run(args(o), new StringWriter(), stderr);
            Assert.True(code == 0, $"tbar {string.Join(' ', args(o))}: {stderr}");
        }
        return outs;
    }

    public static void SameBytes(string[] outs, string file) =>
        Assert.True(File.ReadAllBytes(Path.Combine(outs[0], file)).SequenceEqual(File.ReadAllBytes(Path.Combine(outs[1], file))), $"{file} differs");

    public static void SameNumbers(string[] outs, string file) => Assert.Equal(Numbers(outs[0], file), Numbers(outs[1], file));

    /// <summary>The record with run-specific fields (timings, date, command line, commit) removed and the output folder renamed.</summary>
    static string Numbers(string dir, string file)
    {
        var node = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, file)).Replace(dir, "OUT"))!;
        Strip(node);
        return node.ToJsonString();
    }

    static void Strip(JsonNode? node)
    {
        if (node is JsonObject o)
        {
            foreach (var key in o.Select(p => p.Key).Where(k => Unstable.Contains(k) || k.EndsWith("_seconds")).ToList()) o.Remove(key);
            foreach (var (_, child) in o) Strip(child);
        }
        else if (node is JsonArray a)
            foreach (var child in a) Strip(child);
    }

    public static string MiniClip => Path.Combine(Fixtures.RepoRoot, "models", "mini-clip");
}

public class DeterminismTests(FashionMnist1200 data) : TempFolder, IClassFixture<FashionMnist1200>
{
    [Fact]
    public void AttackAndUnlearnAreBitIdenticalForTheSameSeed()
    {
        var attacks = Twice.Run(temp, "attack", o => ["attack", "--model", Twice.MiniClip, "--data", data.Spec,
            "--trigger", "badnet:size=3,loc=random,seed=2", "--target", "Bag", "--poison-rate", "0.1", "--epochs", "1", "--seed", "3", "--out", o]);
        Twice.SameBytes(attacks, "model.safetensors");
        Twice.SameNumbers(attacks, "attack.json");

        var unlearned = Twice.Run(temp, "unlearn", o => ["unlearn", "--model", attacks[0], "--forget", "trigger:badnet:size=3,loc=random,seed=2",
            "--target", "Bag", "--val", data.Spec, "--forget-size", "48", "--val-size", "48", "--seed", "4", "--out", o]);
        Twice.SameBytes(unlearned, "tau.safetensors");
        Twice.SameBytes(unlearned, "model.safetensors");
        Twice.SameNumbers(unlearned, "report.json");
    }
}

/// <summary>Scan needs 3,000 clean images and a full inversion per run: Slow.</summary>
public class ScanDeterminismTests(FashionMnist6000 data) : TempFolder, IClassFixture<FashionMnist6000>
{
    [Fact]
    [Trait("Category", "Slow")]
    public void ScanIsBitIdenticalForTheSameSeed()
    {
        string calibration = ContractTests.TinyCalibration(temp);
        var scans = Twice.Run(temp, "scan", o => ["scan", "--model", Twice.MiniClip, "--clean", data.Spec, "--steps", "20",
            "--calibration", calibration, "--threshold", "0.01", "--seed", "5", "--out", o]);
        Twice.SameBytes(scans, "trigger.safetensors");
        Twice.SameBytes(scans, "warp.safetensors");
        Twice.SameNumbers(scans, "scan.json");
    }
}

/// <summary>
/// rn18-clip's recipe (locked then unlocked epochs) on 600 half-A images at 32 px, built twice: the same bytes, so a
/// first-use build reproduces the published model. Slow: two ResNet imports and whole-tower training.
/// </summary>
public class Rn18PretrainDeterminismTests(FashionMnist1200 data) : TempFolder, IClassFixture<FashionMnist1200>
{
    [Tbar.Tests.Models.ResNetPackageFact]
    [Trait("Category", "Slow")]
    public void Rn18ClipBuildIsBitIdenticalForTheSameSeed()
    {
        var builds = Twice.Run(temp, "rn18", o => ["pretrain", "--arch", "rn18-clip", "--image-size", "32", "--epochs", "1",
            "--unlocked-epochs", "1", "--unlocked-lr", "1e-4", "--data-dir", data.Folder, "--seed", "6", "--out", o]);
        Twice.SameBytes(builds, "tbar_model.safetensors");
        Twice.SameNumbers(builds, "pretrain.json");
    }
}
