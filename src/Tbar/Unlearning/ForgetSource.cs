using Tbar.Attacks;
using Tbar.Data;
using Tbar.Inversion;
using Tbar.Models;
using static TorchSharp.torch;

namespace Tbar.Unlearning;

/// <summary>
/// Where the forget set comes from, as users type it: <c>trigger:SPEC</c> (a known trigger applied to the defender's
/// clean images), <c>inverted:DIR</c> (the trigger `tbar scan` recovered — the stamp or the warp, whichever scan.json
/// calls best; the target defaults to the scan's inferred one), or <c>images:DIR</c> (a folder of images that already carry the trigger).
/// </summary>
public sealed record ForgetSource(string Kind, string Argument, ITrigger? Trigger, string? InferredTarget)
{
    public static ForgetSource Parse(string text)
    {
        int colon = text.IndexOf(':');
        string kind = colon < 0 ? text : text[..colon], argument = colon < 0 ? "" : text[(colon + 1)..];
        if (argument.Length == 0) throw new TbarException($"--forget '{text}': expected trigger:SPEC, inverted:DIR or images:DIR");
        switch (kind)
        {
            case "trigger":
                return new ForgetSource(kind, argument, Triggers.Parse(argument), null);
            case "inverted":
                return new ForgetSource(kind, argument, Inverted(argument), ScanTarget(argument));
            case "images":
                if (!Directory.Exists(argument)) throw new TbarException($"{argument}: no such folder (--forget images:DIR)");
                return new ForgetSource(kind, argument, null, null);
            default:
                throw new TbarException($"--forget '{text}': unknown kind '{kind}' (valid: trigger:SPEC, inverted:DIR, images:DIR)");
        }
    }

    /// <summary>The spec recorded in reports.</summary>
    public string Spec => Trigger?.Spec ?? $"{Kind}:{Argument}";

    /// <summary>The class to unlearn: the one given, else the scan's inferred target; an error when neither exists.</summary>
    public string Target(string? given) => given ?? InferredTarget
        ?? throw new TbarException($"--target is required with --forget {Kind}:… (only inverted:DIR carries an inferred target)");

    /// <summary>Builds the task on the defender's clean <paramref name="clean"/> pool.</summary>
    public UnlearnTask Task(ImageDataset clean, long[] pool, int target, int forgetSize, int valSize, long seed, int imageSize)
    {
        if (Trigger != null) return UnlearnTask.FromPool(clean, pool, Trigger, target, forgetSize, valSize, seed);
        var files = ImageFolder.Images(Argument).ToList();
        if (files.Count == 0) throw new TbarException($"{Argument}: no images ({string.Join(", ", ImageFolder.Suffixes)})");
        using var scope = NewDisposeScope();
        var pixels = stack(files.Select(f => Preprocess.LoadSquareBytes(f, imageSize)).ToArray()).MoveToOuterDisposeScope();
        // True classes are unknown (-1): the images are taken to be non-target images carrying the trigger.
        var triggered = new ImageDataset(pixels, Enumerable.Repeat(ImageDataset.Unknown, files.Count).ToArray(), clean.ClassNames,
            $"images:{Argument}");
        return UnlearnTask.FromImages(triggered, clean, pool, target, forgetSize, valSize, seed);
    }

    /// <summary>
    /// The trigger in an inverted-trigger folder or file: a warp file is a warp; a folder holding both (a two-inversion scan)
    /// gives the one scan.json calls best, else the warp when it is alone, else the stamp.
    /// </summary>
    static ITrigger Inverted(string path)
    {
        if (File.Exists(path)) return Path.GetFileName(path) == InvertedWarp.FileName ? InvertedWarp.Load(path) : InvertedTrigger.Load(path);
        bool warp = File.Exists(Path.Combine(path, InvertedWarp.FileName)), stamp = File.Exists(Path.Combine(path, InvertedTrigger.FileName));
        bool useWarp = warp && stamp && File.Exists(Path.Combine(path, ScanRecord.FileName))
            ? ScanRecord.Load(path).Results.Warp?.Best == "warp"
            : warp && !stamp;
        return useWarp ? InvertedWarp.Load(path) : InvertedTrigger.Load(path);
    }

    /// <summary>The scan's inferred target, when the folder holds a scan.json (a bare inverted trigger has none).</summary>
    static string? ScanTarget(string dir) =>
        File.Exists(Path.Combine(dir, ScanRecord.FileName)) ? ScanRecord.Load(dir).Results.TargetName : null;
}
