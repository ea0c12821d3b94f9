using System.CommandLine;
using Tbar.Models;

namespace Tbar.Cli;

/// <summary><c>tbar init</c>: a randomly initialised CLIP of a named shape, written as a checkpoint folder.</summary>
static class InitCommand
{
    public static Command Create(TextWriter stdout)
    {
        var arch = new Option<string>("--arch")
            { Description = $"Shape: {string.Join(", ", ClipConfig.Named.Keys)}", DefaultValueFactory = _ => "vit-b-32" };
        var layout = new Option<string>("--layout")
            { Description = "hf or open_clip (rn50: open_clip only; Hugging Face has no ResNet CLIP)", DefaultValueFactory = _ => "hf" };
        var seed = new Option<long>("--seed") { Description = "Initialisation seed", DefaultValueFactory = _ => 0 };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Copy vocab.json + merges.txt from this folder" };
        var output = new Option<string>("--out") { Description = "Output folder", Required = true };
        var command = new Command("init", "Write a randomly initialised CLIP checkpoint (for tests and benchmarks).")
            { arch, layout, seed, tokenizer, output };
        command.SetAction(r => Run(r.GetValue(arch)!, r.GetValue(layout)!, r.GetValue(seed), r.GetValue(tokenizer), r.GetValue(output)!, stdout));
        return command;
    }

    static int Run(string arch, string layoutName, long seed, string? tokenizerDir, string outDir, TextWriter stdout)
    {
        var config = ClipConfig.Named.TryGetValue(arch, out var make) ? make()
            : throw new TbarException($"unknown --arch '{arch}' (valid: {string.Join(", ", ClipConfig.Named.Keys)})");
        var layout = layoutName switch
        {
            "hf" => CheckpointLayout.HuggingFace,
            "open_clip" => CheckpointLayout.OpenClip,
            _ => throw new TbarException($"unknown --layout '{layoutName}' (valid: hf, open_clip)"),
        };
        if (layout == CheckpointLayout.HuggingFace && config.Vision is not VisionConfig)
            throw new TbarException($"--arch {arch} has a {config.Vision.Kind} image tower, which the Hugging Face layout cannot hold " +
                "(transformers has no ResNet CLIP); use --layout open_clip");
        using var clip = new Clip(config);
        clip.InitializeRandom(seed);
        if (tokenizerDir != null) ClipTokenizer.FromFolder(tokenizerDir);   // validates before copying
        string weights = Path.Combine(outDir, CheckpointOrigin.WeightsFileName(layout));
        Tbar.Io.AtomicFolder.Write(outDir, Path.GetFileName(weights), stage =>
        {
            ClipCheckpoint.WriteInto(clip, stage, layout);
            foreach (var name in tokenizerDir == null ? [] : new[] { "vocab.json", "merges.txt" })
                File.Copy(Path.Combine(tokenizerDir!, name), Path.Combine(stage, name));
        }, tokenizerDir);
        stdout.WriteLine($"wrote {weights} ({clip.ParameterCount():N0} parameters, seed {seed})");
        return 0;
    }
}
