using System.CommandLine;
using Tbar.Pipelines;
using Tbar.Inversion;
using Tbar.Models;
using Tbar.Io;
using Tbar.Reporting;

namespace Tbar.Cli;

/// <summary>
/// <c>tbar scan</c>: invert a trigger on the image tower, judge the model (PL1 against a threshold calibrated on clean
/// models), infer the target; <c>tbar scan calibrate</c>: the threshold from clean models.
/// </summary>
static class ScanCommand
{
    /// <summary>The calibration shipped for the mini-CLIP architecture.</summary>
    public static string ShippedCalibration => Path.Combine(ModelNames.MiniClip, "scan-calibration.json");

    public static Command Create(TextWriter stdout)
    {
        var model = new Option<string>("--model") { Description = "Model folder or .safetensors file to scan", Required = true };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Folder with vocab.json + merges.txt (open_clip models)" };
        var clean = new DataFlag("Data spec of the defender's clean images (its training indices)", "--clean");
        var threshold = new Option<double?>("--threshold") { Description = "PL1 threshold (default: from --calibration)" };
        var calibration = new Option<string?>("--calibration") { Description = "Calibration JSON from `tbar scan calibrate` (default: the mini-CLIP's shipped one)" };
        var steps = new Option<int>("--steps") { Description = "Inversion steps", DefaultValueFactory = _ => new InversionOptions().Steps };
        var similarity = SimilarityOption();
        var seed = new Option<long>("--seed") { Description = "Seed", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "Output folder: trigger, mask/pattern PNGs, scan.json, scan.md", Required = true };
        var command = new Command("scan", "Is this model backdoored? Invert a trigger (DECREE-style) and judge by its size.")
            { model, tokenizer, threshold, calibration, steps, similarity, seed, output };
        foreach (var o in clean.Options) command.Add(o);
        command.SetAction(r => Run(ModelFlag.Resolve(r.GetValue(model)!, stdout), r.GetValue(tokenizer), clean.Value(r), r.GetValue(threshold), r.GetValue(calibration),
            new InversionOptions(Steps: r.GetValue(steps), SimilarityTarget: r.GetValue(similarity), Seed: r.GetValue(seed)), r.GetValue(output)!, stdout));
        command.Subcommands.Add(CalibrateCommand(stdout));
        return command;
    }

    static Command CalibrateCommand(TextWriter stdout)
    {
        var models = new Option<string[]>("--models") { Description = "Clean model folders (same architecture), space separated", Required = true, AllowMultipleArgumentsPerToken = true };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Folder with vocab.json + merges.txt (open_clip models)" };
        var clean = new DataFlag("Data spec of clean images", "--clean");
        var steps = new Option<int>("--steps") { Description = "Inversion steps", DefaultValueFactory = _ => new InversionOptions().Steps };
        var similarity = SimilarityOption();
        var seed = new Option<long>("--seed") { Description = "Seed", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "Calibration JSON to write", Required = true };
        var command = new Command("calibrate", "Set the PL1 threshold from models known to be clean.") { models, tokenizer, steps, similarity, seed, output };
        foreach (var o in clean.Options) command.Add(o);
        command.SetAction(r => Calibrate(ModelFlag.Resolve(r.GetValue(models)!, stdout), r.GetValue(tokenizer), clean.Value(r),
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
        using var bench = Workbench.Open(modelPath, tokenizerDir, cleanSpec);
        var (clip, head, data) = (bench.Model, bench.Head, bench.Data);
        var (limit, source) = Threshold(clip, threshold, calibrationPath);
        var options = ScanOptions.Default with { Inversion = inversion };
        var verdict = ProgressBar.Run(stdout, "trigger inversion", p => Scanner.Scan(clip, head, data.Train, data.TrainIndices, limit, source, options, p));
        ScanReport.Write(outDir, Environment.CommandLine, ScanSettings.Of(modelPath, cleanSpec, options), verdict, clock.Elapsed.TotalSeconds);
        stdout.WriteLine(verdict.Summary);
        stdout.WriteLine($"wrote {outDir}");
        return 0;
    }

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
            using var clip = Workbench.LoadModel(path);
            string arch = Scanner.Architecture(clip);
            if (architecture != null && arch != architecture) throw new TbarException($"{path}: architecture '{arch}' differs from the first model's '{architecture}'");
            architecture = arch;
            using var data = Workbench.LoadData(cleanSpec, clip);
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
