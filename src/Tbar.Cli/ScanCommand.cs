using System.CommandLine;
using System.Text.Json;
using Tbar.Pipelines;
using Tbar.Inversion;
using Tbar.Models;
using Tbar.Io;
using Tbar.Reporting;
using Tbar.Unlearning;

namespace Tbar.Cli;

/// <summary>
/// <c>tbar scan</c>: two trigger inversions on the image tower (DECREE's stamp and a smooth warp), each statistic's
/// percentile among clean models, the larger against the calibrated threshold, the inferred target;
/// <c>tbar scan calibrate</c>: the percentiles and threshold from clean models at a target false-positive rate;
/// <c>tbar scan clean-models</c>: clean fine-tunes to calibrate on.
/// </summary>
static class ScanCommand
{
    /// <summary>Exit code of <c>tbar scan --fail-on-backdoor</c> when the verdict is "backdoored" (1 and 2 are errors).</summary>
    public const int Backdoored = 3;

    /// <summary>The calibration shipped for the mini-CLIP architecture.</summary>
    public static string ShippedCalibration => Path.Combine(ModelNames.MiniClip, "scan-calibration.json");

    public static Command Create(TextWriter stdout)
    {
        var model = new Option<string>("--model") { Description = "Model folder or .safetensors file to scan", Required = true };
        var tokenizer = TokenizerOption();
        var clean = new DataFlag("Data spec of the defender's clean images (its training indices)", "--clean");
        var threshold = new Option<double?>("--threshold")
            { Description = "Threshold on the verdict's score, a percentile in (0, 1) (default: calibrated)" };
        var calibration = new Option<string?>("--calibration")
            { Description = "Calibration JSON from `tbar scan calibrate` (default: the mini-CLIP's)" };
        var steps = new Option<int?>("--steps") { Description = "DECREE inversion steps (default: the calibration's)" };
        var seed = new Option<long>("--seed") { Description = "Seed", DefaultValueFactory = _ => 0 };
        var fail = new Option<bool>("--fail-on-backdoor") { Description = $"Exit with code {Backdoored} when the verdict is \"backdoored\"" };
        var output = new Option<string>("--out") { Description = "Output folder: both inverted triggers, pictures, scan.json, scan.md",
            Required = true };
        var command = new Command("scan", "Is this model backdoored? Invert a stamp (DECREE) and a warp, judge both against clean models.")
            { model, tokenizer, threshold, calibration, steps, seed, fail, output };
        foreach (var o in clean.Options) command.Add(o);
        command.SetAction(r => Run(ModelFlag.Resolve(r.GetValue(model)!, stdout), r.GetValue(tokenizer), clean.Value(r), r.GetValue(threshold),
            r.GetValue(calibration),
            r.GetValue(steps), r.GetValue(seed), r.GetValue(output)!, stdout) && r.GetValue(fail) ? Backdoored : 0);
        command.Subcommands.Add(CalibrateCommand(stdout));
        command.Subcommands.Add(CleanModelsCommand(stdout));
        return command;
    }

    static Option<string?> TokenizerOption() => new("--tokenizer") { Description = "Folder with vocab.json + merges.txt (open_clip models)" };

    static Command CalibrateCommand(TextWriter stdout)
    {
        var models = new Option<string[]>("--models")
        {
            Description = "Clean model folders (same architecture) the verdict is fitted on", Required = true, AllowMultipleArgumentsPerToken = true,
        };
        var heldOut = new Option<string[]>("--held-out")
        {
            Description = "Further clean model folders, kept out of the fit, to measure the FPR on", AllowMultipleArgumentsPerToken = true,
        };
        var fpr = new Option<double>("--target-fpr") { Description = "False-positive rate the threshold aims at", DefaultValueFactory = _ => 0.05 };
        var tokenizer = TokenizerOption();
        var clean = new DataFlag("Data spec of clean images", "--clean");
        var steps = new Option<int>("--steps") { Description = "DECREE inversion steps", DefaultValueFactory = _ => new InversionOptions().Steps };
        var warpSteps = new Option<int>("--warp-steps") { Description = "Warp inversion steps per start",
            DefaultValueFactory = _ => new WarpOptions().Steps };
        var shift = new Option<double>("--warp-shift") { Description = "Warp budget: largest control-point shift, pixels",
            DefaultValueFactory = _ => new WarpOptions().MaxShift };
        var residual = new Option<double>("--warp-residual") { Description = "Warp budget: largest |residual|",
            DefaultValueFactory = _ => new WarpOptions().Residual };
        var batch = new Option<int>("--batch") { Description = "Images per step of both inversions",
            DefaultValueFactory = _ => new WarpOptions().BatchSize };
        var seed = new Option<long>("--seed") { Description = "Seed", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "Calibration JSON to write", Required = true };
        var parts = new Option<string?>("--parts")
        {
            Description = "Folder keeping each model's measurement as it is made, so a stopped calibration resumes (default: OUT.parts)",
        };
        var command = new Command("calibrate", "Fit the verdict on models known to be clean, at a target false-positive rate.")
            { models, heldOut, fpr, tokenizer, steps, warpSteps, shift, residual, batch, seed, output, parts };
        foreach (var o in clean.Options) command.Add(o);
        command.SetAction(r => Calibrate(ModelFlag.Resolve(r.GetValue(models)!, stdout), ModelFlag.Resolve(r.GetValue(heldOut) ?? [], stdout),
            r.GetValue(fpr), clean.Value(r), ScanOptions.Default with
        {
            Inversion = new InversionOptions(Steps: r.GetValue(steps), BatchSize: r.GetValue(batch), Seed: r.GetValue(seed)),
            Warp = new WarpOptions(Steps: r.GetValue(warpSteps), BatchSize: r.GetValue(batch), MaxShift: r.GetValue(shift),
                Residual: r.GetValue(residual)),
        }, r.GetValue(output)!, r.GetValue(parts), stdout));
        return command;
    }

    static Command CleanModelsCommand(TextWriter stdout)
    {
        var model = new Option<string>("--model") { Description = "The clean model to fine-tune", DefaultValueFactory = _ => "mini-clip" };
        var clean = new DataFlag("Data spec of the clean images the fine-tunes draw from", "--clean");
        var count = new Option<int>("--count") { Description = "How many clean fine-tunes", DefaultValueFactory = _ => 40 };
        var first = new Option<long>("--first-seed")
        {
            Description = "Seed of the first; the k-th uses first + k (keep them apart from experiment seeds)", DefaultValueFactory = _ => 1000,
        };
        var output = new Option<string>("--out") { Description = "Folder for one sub-folder per fine-tune (a stopped run resumes)", Required = true };
        var command = new Command("clean-models", "Make clean fine-tunes with different seeds, data subsets, learning rates and epochs.")
            { model, count, first, output };
        foreach (var o in clean.Options) command.Add(o);
        command.SetAction(r =>
        {
            string modelPath = ModelFlag.Resolve(r.GetValue(model)!, stdout);
            using var probe = Workbench.LoadModel(modelPath);
            using var data = Workbench.LoadData(clean.Value(r), probe);
            var folders = ProgressBar.Run(stdout, "clean fine-tunes", p => CleanFineTunes.Make(modelPath, data, r.GetValue(count), r.GetValue(first),
                r.GetValue(output)!, s => stdout.WriteLine(s), p));
            stdout.WriteLine($"{folders.Count} clean models under {r.GetValue(output)}");
            return 0;
        });
        return command;
    }

    /// <summary>Scans; returns whether the verdict is "backdoored".</summary>
    static bool Run(string modelPath, string? tokenizerDir, string cleanSpec, double? threshold, string? calibrationPath, int? steps, long seed,
        string outDir, TextWriter stdout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        AtomicFolder.Check(outDir, "scan.json", modelPath);
        using var bench = Workbench.Open(modelPath, tokenizerDir, cleanSpec);
        var (clip, head, data) = (bench.Model, bench.Head, bench.Data);
        var calibration = Calibration(clip, calibrationPath);
        if (calibration.File.Verdict == null)
            return DecreeOnly(clip, head, data, calibration, threshold, steps, seed, modelPath, cleanSpec, outDir, clock, stdout);
        var (verdict, limit, source) = Threshold(calibration, threshold);
        var inversion = verdict.Scan.Inversion with { Seed = seed, Steps = steps ?? verdict.Scan.Inversion.Steps };
        var options = verdict.Scan with { Inversion = inversion };
        stdout.WriteLine(RunProbe.ForScan(clip, head, data.Train, data.TrainIndices, options).Summary);
        var detection = ProgressBar.Run(stdout, "trigger inversions", p =>
            Detector.Detect(clip, head, data.Train, data.TrainIndices, verdict, limit, source, options, p));
        ScanReport.Write(outDir, Environment.CommandLine, modelPath, cleanSpec, options, detection, data.Train, data.TrainIndices,
            clock.Elapsed.TotalSeconds);
        stdout.WriteLine(detection.Summary);
        stdout.WriteLine($"wrote {outDir}");
        return detection.Backdoored;
    }

    /// <summary>The calibration file (default: the shipped one), checked against the model's architecture.</summary>
    static (ScanCalibration File, string Path) Calibration(Clip clip, string? calibrationPath)
    {
        string path = calibrationPath ?? ShippedCalibration;
        var calibration = ScanCalibration.Load(path);
        string architecture = Scanner.Architecture(clip);
        if (calibration.Architecture != architecture)
            throw new TbarException($"{path} was calibrated on '{calibration.Architecture}', this model is '{architecture}': " +
                "calibrate on clean models of this architecture (`tbar scan calibrate`)");
        return (calibration, path);
    }

    /// <summary>
    /// A calibration made before the warp inversion holds DECREE's PL1 rule alone: the scan runs that rule (a stamp inversion
    /// only) and says so, rather than refusing; `tbar scan calibrate` makes the two-inversion verdict.
    /// </summary>
    static bool DecreeOnly(Clip clip, ZeroShotHead head, Data.DataSplits data, (ScanCalibration File, string Path) calibration, double? threshold,
        int? steps, long seed, string modelPath, string cleanSpec, string outDir, System.Diagnostics.Stopwatch clock, TextWriter stdout)
    {
        stdout.WriteLine($"{calibration.Path} holds DECREE's PL1 rule only, so this scan inverts a stamp and not a warp; " +
            "`tbar scan calibrate` makes the two-inversion verdict (docs/detection.md)");
        double limit = threshold ?? calibration.File.Threshold;
        string source = threshold == null ? $"{calibration.Path}: {calibration.File.Rule}" : "--threshold";
        var options = ScanOptions.Default with { Inversion = ScanOptions.Default.Inversion with { Seed = seed,
            Steps = steps ?? ScanOptions.Default.Inversion.Steps } };
        var verdict = ProgressBar.Run(stdout, "trigger inversion", p => Scanner.Scan(clip, head, data.Train, data.TrainIndices, limit, source,
            options, p));
        ScanReport.Write(outDir, Environment.CommandLine, ScanSettings.Of(modelPath, cleanSpec, options), verdict, clock.Elapsed.TotalSeconds);
        stdout.WriteLine(verdict.Summary);
        stdout.WriteLine($"wrote {outDir}");
        return verdict.Backdoored;
    }

    static (VerdictCalibration Verdict, double Threshold, string Source) Threshold((ScanCalibration File, string Path) calibration, double? threshold)
    {
        var (file, path) = calibration;
        var verdict = file.Verdict!;
        if (threshold == null) return (verdict, verdict.Threshold, $"{path}: {verdict.Rule}");
        if (!(threshold > 0 && threshold < 1)) throw new TbarException($"--threshold {threshold} must be a percentile in (0, 1)");
        return (verdict, threshold.Value, "--threshold");
    }

    static int Calibrate(string[] models, string[] heldOut, double targetFpr, string cleanSpec, ScanOptions options, string output,
        string? parts, TextWriter stdout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (!(targetFpr > 0 && targetFpr < 1)) throw new TbarException($"--target-fpr {targetFpr} must lie in (0, 1)");
        parts ??= output + ".parts";
        string? architecture = null;
        var fit = Measure(models, cleanSpec, options, parts, ref architecture, stdout);
        var held = Measure(heldOut, cleanSpec, options, parts, ref architecture, stdout);
        var calibration = Detector.Calibrate(fit, held, architecture!, targetFpr, options);
        calibration.Save(output);
        var v = calibration.Verdict!;
        stdout.WriteLine($"threshold {v.Threshold:F4} ({v.Rule}); FPR leave-one-out {v.LeaveOneOut}" +
            (v.HeldOut is { } h ? $", held out {h.Fpr}" : "") + $"; wrote {output} in {clock.Elapsed.TotalSeconds:F0} s");
        return 0;
    }

    /// <summary>
    /// Each model's two statistics, measured, or read from <paramref name="parts"/> where this model (its image tower's
    /// hash) was measured before on the same clean data with the same scan settings; each new measurement is written there
    /// as soon as it is made, so a stopped calibration of many models resumes.
    /// </summary>
    static List<CalibrationModel> Measure(string[] models, string cleanSpec, ScanOptions options, string parts, ref string? architecture,
        TextWriter stdout)
    {
        var found = new List<CalibrationModel>();
        foreach (var path in models)
        {
            using var clip = Workbench.LoadModel(path);
            string arch = Scanner.Architecture(clip);
            if (architecture != null && arch != architecture)
                throw new TbarException($"{path}: architecture '{arch}' differs from the first model's '{architecture}'");
            architecture = arch;
            var digest = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(
                VisualWeights.Hash(clip) + "\n" + cleanSpec + "\n" + JsonSerializer.Serialize(options, RunRecord.Json)));
            string key = Convert.ToHexString(digest)[..24].ToLowerInvariant();
            string part = Path.Combine(parts, key + ".json");
            // Recorded by the folder's name ("clean-seed-1000"), not the path, which means nothing on another machine.
            string name = CellPlan.ModelName(path);
            CalibrationModel point;
            if (File.Exists(part))
            {
                point = (JsonSerializer.Deserialize<CalibrationModel>(File.ReadAllText(part), RunRecord.Json)
                    ?? throw new TbarException($"{part}: empty measurement; delete it to measure again")) with { Model = name };
                stdout.WriteLine($"{path}: PL1 {point.Pl1:P2}, warp similarity {point.WarpSimilarity:F3} (measured before: {part})");
            }
            else
            {
                using var data = Workbench.LoadData(cleanSpec, clip);
                point = ProgressBar.Run(stdout, $"inversions {path}", p => Detector.Measure(clip, name, data.Train, data.TrainIndices, options, p));
                Directory.CreateDirectory(parts);
                AtomicFile.WriteText(part, JsonSerializer.Serialize(point, RunRecord.Json));
                stdout.WriteLine($"{path}: PL1 {point.Pl1:P2}, warp similarity {point.WarpSimilarity:F3}");
            }
            found.Add(point);
        }
        return found;
    }
}
