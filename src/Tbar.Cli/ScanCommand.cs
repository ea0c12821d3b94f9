using System.CommandLine;
using Spectre.Console;
using Tbar.Attacks;
using Tbar.Data;
using Tbar.Inversion;
using Tbar.Io;
using Tbar.Models;
using Tbar.Reporting;

namespace Tbar.Cli;

/// <summary>
/// <c>tbar scan</c>: invert a trigger on the image tower, judge the model (PL1 against a threshold calibrated on clean
/// models), infer the target; <c>tbar scan calibrate</c>: the threshold from clean models.
/// </summary>
static class ScanCommand
{
    /// <summary>The calibration shipped for the mini-CLIP architecture.</summary>
    public static string ShippedCalibration => Path.Combine(Defaults.MiniClip, "scan-calibration.json");

    public static Command Create(TextWriter stdout)
    {
        var model = new Option<string>("--model") { Description = "Model folder or .safetensors file to scan", Required = true };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Folder with vocab.json + merges.txt (open_clip models)" };
        var clean = new Option<string>("--clean") { Description = "Data spec of the defender's clean images (its training indices)", DefaultValueFactory = _ => "fashion-mnist" };
        var threshold = new Option<double?>("--threshold") { Description = "PL1 threshold (default: from --calibration)" };
        var calibration = new Option<string?>("--calibration") { Description = "Calibration JSON from `tbar scan calibrate` (default: the mini-CLIP's shipped one)" };
        var steps = new Option<int>("--steps") { Description = "Inversion steps", DefaultValueFactory = _ => new InversionOptions().Steps };
        var similarity = SimilarityOption();
        var seed = new Option<long>("--seed") { Description = "Seed", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "Output folder: trigger, mask/pattern PNGs, scan.json, scan.md", Required = true };
        var command = new Command("scan", "Is this model backdoored? Invert a trigger (DECREE-style) and judge by its size.")
            { model, tokenizer, clean, threshold, calibration, steps, similarity, seed, output };
        command.SetAction(r => Run(r.GetValue(model)!, r.GetValue(tokenizer), r.GetValue(clean)!, r.GetValue(threshold), r.GetValue(calibration),
            new InversionOptions(Steps: r.GetValue(steps), SimilarityTarget: r.GetValue(similarity), Seed: r.GetValue(seed)), r.GetValue(output)!, stdout));
        command.Subcommands.Add(CalibrateCommand(stdout));
        return command;
    }

    static Command CalibrateCommand(TextWriter stdout)
    {
        var models = new Option<string[]>("--models") { Description = "Clean model folders (same architecture), space separated", Required = true, AllowMultipleArgumentsPerToken = true };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Folder with vocab.json + merges.txt (open_clip models)" };
        var clean = new Option<string>("--clean") { Description = "Data spec of clean images", DefaultValueFactory = _ => "fashion-mnist" };
        var steps = new Option<int>("--steps") { Description = "Inversion steps", DefaultValueFactory = _ => new InversionOptions().Steps };
        var similarity = SimilarityOption();
        var seed = new Option<long>("--seed") { Description = "Seed", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "Calibration JSON to write", Required = true };
        var command = new Command("calibrate", "Set the PL1 threshold from models known to be clean.") { models, tokenizer, clean, steps, similarity, seed, output };
        command.SetAction(r => Calibrate(r.GetValue(models)!, r.GetValue(tokenizer), r.GetValue(clean)!,
            new InversionOptions(Steps: r.GetValue(steps), SimilarityTarget: r.GetValue(similarity), Seed: r.GetValue(seed)), r.GetValue(output)!, stdout));
        return command;
    }

    static Option<double> SimilarityOption() => new("--similarity")
    {
        Description = "Mean pairwise cosine similarity the stamped images must reach", DefaultValueFactory = _ => new InversionOptions().SimilarityTarget,
    };

    static int Run(string modelPath, string? tokenizerDir, string cleanSpec, double? threshold, string? calibrationPath, InversionOptions inversion,
        string outDir, TextWriter stdout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        AtomicFolder.Check(outDir, "scan.json", modelPath);
        using var clip = ClipCheckpoint.Load(modelPath);
        var (limit, source) = Threshold(clip, threshold, calibrationPath);
        using var data = DataSpec.Load(cleanSpec, clip.Config.Vision.ImageSize);
        using var head = BackdoorAttack.Head(clip, Tokenizers.For(clip, tokenizerDir), data.Train);
        var options = ScanOptions.Default with { Inversion = inversion };
        var verdict = ProgressBar.Run(stdout, "trigger inversion", p => Scanner.Scan(clip, head, data.Train, data.TrainIndices, limit, source, options, p));
        Write(verdict, outDir, modelPath, cleanSpec, options, clock.Elapsed.TotalSeconds);
        stdout.WriteLine(verdict.Summary);
        stdout.WriteLine($"wrote {outDir}");
        return 0;
    }

    /// <summary>Writes the folder <paramref name="outDir"/> as a whole: the trigger, its pictures, the trace plot, scan.json and scan.md.</summary>
    public static void Write(ScanVerdict v, string outDir, string model, string cleanSpec, ScanOptions o, double seconds) =>
        AtomicFolder.Write(outDir, "scan.json", stage =>
        {
            v.Inversion.Trigger.Save(stage);
            Plots.InversionTrace(Path.Combine(stage, "inversion.png"), v.Inversion.Trace, o.Inversion.SimilarityTarget, $"trigger inversion: {Path.GetFileName(Path.TrimEndingDirectorySeparator(model))}");
            new RunRecord(Environment.CommandLine, new { model, clean = cleanSpec, o.Images, o.HeldOut, inversion = o.Inversion }, o.Inversion.Seed,
                Summary(v), seconds).Save(Path.Combine(stage, "scan.json"));
            AtomicFile.WriteText(Path.Combine(stage, "scan.md"), Markdown(v, model));
        }, File.Exists(model) || Directory.Exists(model) ? model : null);

    /// <summary>The JSON form of a verdict (scan.json's results; `unlearn --forget inverted:DIR` reads target from it).</summary>
    public static object Summary(ScanVerdict v) => new
    {
        verdict = v.Backdoored ? "backdoored" : "clean", backdoored = v.Backdoored, pl1 = v.Pl1, threshold = v.Threshold,
        threshold_source = v.ThresholdSource, target = v.Target, target_name = v.TargetName, target_share = v.TargetShare.Value,
        target_hits = v.TargetShare.Hits, target_total = v.TargetShare.Total, similarity_reached = v.Inversion.Reached,
        held_out_similarity_stamped = v.Inversion.Similarity, held_out_similarity_clean = v.Inversion.CleanSimilarity,
        inversion_seconds = v.Inversion.Seconds,
    };

    static string Markdown(ScanVerdict v, string model) =>
        $"# tbar scan\n\nModel `{model}`.\n\n**{(v.Backdoored ? "Backdoored" : "Clean")}.** {Markup.Remove(v.Summary)}\n\n" +
        $"| evidence | value |\n|---|---|\n| PL1 (mask share of the image) | {v.Pl1:P2} |\n| threshold | {v.Threshold:P2} ({v.ThresholdSource}) |\n" +
        $"| similarity target reached | {(v.Inversion.Reached ? "yes" : "no")} |\n" +
        $"| held-out similarity, stamped / clean | {v.Inversion.Similarity:F3} / {v.Inversion.CleanSimilarity:F3} |\n" +
        $"| inferred target | {v.TargetName} ({v.TargetShare}) |\n\n![mask](mask.png) ![pattern](pattern.png) ![trace](inversion.png)\n";

    static (double Threshold, string Source) Threshold(Clip clip, double? threshold, string? calibrationPath)
    {
        if (threshold != null)
        {
            if (!(threshold > 0 && threshold <= 1)) throw new TbarException($"--threshold {threshold} must lie in (0, 1]");
            return (threshold.Value, "--threshold");
        }
        string path = calibrationPath ?? ShippedCalibration;
        var calibration = ScanCalibration.Load(path);
        string architecture = Scanner.Architecture(clip);
        if (calibration.Architecture != architecture)
            throw new TbarException($"{path} was calibrated on '{calibration.Architecture}', this model is '{architecture}': " +
                "calibrate on clean models of this architecture (`tbar scan calibrate`) or pass --threshold");
        return (calibration.Threshold, $"{path}: {calibration.Rule}");
    }

    static int Calibrate(string[] models, string? tokenizerDir, string cleanSpec, InversionOptions inversion, string output, TextWriter stdout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var options = ScanOptions.Default with { Inversion = inversion };
        var found = new List<CalibrationModel>();
        string? architecture = null;
        foreach (var path in models)
        {
            using var clip = ClipCheckpoint.Load(path);
            string arch = Scanner.Architecture(clip);
            if (architecture != null && arch != architecture) throw new TbarException($"{path}: architecture '{arch}' differs from the first model's '{architecture}'");
            architecture = arch;
            using var data = DataSpec.Load(cleanSpec, clip.Config.Vision.ImageSize);
            var point = ProgressBar.Run(stdout, $"inversion {path}", p => Scanner.MeasureClean(clip, path, data.Train, data.TrainIndices, options, p));
            found.Add(point);
            stdout.WriteLine($"{path}: PL1 {point.Pl1:P2}, held-out similarity {point.Similarity:F3}");
        }
        var calibration = Scanner.Calibrate(found, architecture!);
        calibration.Save(output);
        stdout.WriteLine($"threshold {calibration.Threshold:P2} ({calibration.Rule}); wrote {output} in {clock.Elapsed.TotalSeconds:F0} s");
        return 0;
    }
}
