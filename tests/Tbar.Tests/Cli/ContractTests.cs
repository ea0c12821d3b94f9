using System.Text.Json;
using Tbar.Analysis;
using Tbar.Cli;
using Tbar.Inversion;
using Tbar.Io;
using Tbar.Pipelines;
using Tbar.Tests.Models;
using Tbar.Reporting;
using Tbar.Tests.Structure;
using Tbar.Tests.Unlearning;
using Tbar.Unlearning;
using static TorchSharp.torch;

namespace Tbar.Tests.Cli;

/// <summary>
/// What one command writes, the next reads: `unlearn → analyze` and `scan → unlearn --forget inverted:`, run in-process on
/// the mini-CLIP with a few random images; and every committed output that is read back still loads.
/// </summary>
public class ContractTests : TempFolder
{
    static readonly string[] Classes = ["Bag", "Coat", "Dress"];

    static void Run(params string[] args)
    {
        var stderr = new StringWriter();
        int code = TbarCli.Run(args, new StringWriter(), stderr);
        Assert.True(code == 0, $"tbar {string.Join(' ', args)}: {stderr}");
    }

    string Images(bool withTest = true) => RandomImages(temp, withTest);

    /// <summary>A folder:DIR data set of random 28×28 images under <paramref name="parent"/>: 12 per class for training, 4 for testing (unless told not to).</summary>
    internal static string RandomImages(string parent, bool withTest = true)
    {
        string root = Path.Combine(parent, "images");
        using var g = new Generator(5);   // its own generator: the global one is shared with tests running beside this one
        foreach (var (split, count) in new[] { ("train", 12), ("test", withTest ? 4 : 0) }.Where(s => s.Item2 > 0))
            foreach (var c in Classes)
            {
                Directory.CreateDirectory(Path.Combine(root, split, c));
                for (int i = 0; i < count; i++)
                    ImageFile.SavePng(Path.Combine(root, split, c, $"{i}.png"), rand([3, 28, 28], generator: g));
            }
        return $"folder:{root}";
    }

    string[] Unlearn(string forget, string data, string output, params string[] more) =>
        ["unlearn", "--model", TbarRegressionTests.MiniClip(), "--forget", forget, "--val", data, "--forget-size", "6", "--val-size", "6",
            "--out", output, .. more];

    [Fact]
    public void AnalyzeReadsWhatUnlearnWrote()
    {
        string data = Images(), unlearned = Path.Combine(temp, "u"), vectors = Path.Combine(temp, "v");
        Run(Unlearn("trigger:badnet:size=3", data, unlearned, "--target", "Bag"));
        var run = UnlearnedRun.Read(unlearned);
        Assert.Equal((TbarRegressionTests.MiniClip(), "Bag"), (run.Backdoored, run.Target));
        Assert.StartsWith("badnet:size=3", run.TriggerSpec);
        Assert.Equal(UnlearnRecord.Load(unlearned).Results.Alpha ?? 0, run.Alpha);

        Run("analyze", "vectors", "--unlearned", unlearned, "--pretrained", TbarRegressionTests.MiniClip(), "--out", vectors);
        Assert.Contains($"α* = {run.Alpha:G3}", File.ReadAllText(Path.Combine(vectors, "section.md")));
        Assert.True(File.Exists(Path.Combine(vectors, "vectors.json")));
    }

    [Fact]
    public void AnalyzeRelapseReadsWhatUnlearnWroteAndRefusesARunWithoutNegation()
    {
        string data = Images(), unlearned = Path.Combine(temp, "u"), relapse = Path.Combine(temp, "r");
        Run(Unlearn("trigger:badnet:size=3", data, unlearned, "--target", "Bag", "--ca-floor", "0.5"));
        var run = UnlearnedRun.Read(unlearned);
        Assert.True(run.Alpha > 0, $"the unlearn run chose α = {run.Alpha}");
        Run("analyze", "relapse", "--unlearned", unlearned, "--multiples", "1", "--out", relapse);
        var section = File.ReadAllText(Path.Combine(relapse, "section.md"));
        Assert.Contains($"α* = {run.Alpha:G4}", section);
        Assert.Contains("\n| 0 |", section);
        Assert.Contains($"\n| {run.Alpha:G4} |", section);
        Assert.True(File.Exists(Path.Combine(relapse, "relapse.json")));

        // The same folder with the method's α recorded as 0: nothing was negated, and the error says so, naming the folder.
        string report = Path.Combine(unlearned, UnlearnRecord.FileName);
        File.WriteAllText(report, File.ReadAllText(report).Replace("\"alpha\": " + JsonSerializer.Serialize(run.Alpha), "\"alpha\": 0"));
        var stderr = new StringWriter();
        Assert.Equal(1, TbarCli.Run(["analyze", "relapse", "--unlearned", unlearned, "--out", Path.Combine(temp, "r2")], new StringWriter(), stderr));
        Assert.Contains($"{unlearned}: its method chose α = 0", stderr.ToString());
    }

    [Fact]
    public void UnlearnAutoComparesTheCandidatesOnValidationAndWritesTheChosenOne()
    {
        string data = Images(), unlearned = Path.Combine(temp, "auto");
        Run(Unlearn("trigger:badnet:size=3", data, unlearned, "--target", "Bag", "--ca-floor", "0.5", "--method", "auto",
            "--candidates", "tbar,repair"));
        var auto = JsonDocument.Parse(File.ReadAllText(Path.Combine(unlearned, "auto.json"))).RootElement.GetProperty("results");
        var candidates = auto.GetProperty("candidates").EnumerateArray().Select(c => c.GetProperty("method").GetString()).ToList();
        Assert.Equal(["tbar", "repair"], candidates);
        Assert.All(auto.GetProperty("candidates").EnumerateArray(), c => Assert.Equal(JsonValueKind.Number, c.GetProperty("durability_asr").ValueKind));
        string? chosen = auto.GetProperty("method").GetString();
        Assert.Contains(chosen, candidates);
        Assert.StartsWith($"auto:{chosen}", UnlearnRecord.Load(unlearned).Options.Method);
        Assert.Contains("| repair |", File.ReadAllText(Path.Combine(unlearned, "auto.md")));
        // The re-tune check runs where the rule reads it: on every candidate that removed the backdoor, the chosen one among them.
        var byMethod = auto.GetProperty("candidates").EnumerateArray().ToDictionary(c => c.GetProperty("method").GetString()!);
        Assert.Equal(JsonValueKind.Number, byMethod[chosen!].GetProperty("retune_asr").ValueKind);
        Assert.Contains("val ASR after the re-tune check", File.ReadAllText(Path.Combine(unlearned, "auto.md")));

        // From a folder of triggered images (true classes unknown) repair cannot run: auto leaves it out and says why.
        string triggered = Path.Combine(temp, "triggered"), fromImages = Path.Combine(temp, "auto-images");
        Directory.CreateDirectory(triggered);
        using var g = new Generator(9);   // its own generator: the global one is shared with tests running beside this one
        for (int i = 0; i < 8; i++) ImageFile.SavePng(Path.Combine(triggered, $"{i}.png"), rand([3, 28, 28], generator: g));
        Run(Unlearn($"images:{triggered}", data, fromImages, "--target", "Bag", "--ca-floor", "0.5", "--method", "auto", "--candidates", "tbar,repair"));
        var skipped = JsonDocument.Parse(File.ReadAllText(Path.Combine(fromImages, "auto.json"))).RootElement.GetProperty("results")
            .GetProperty("skipped").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Contains(skipped, s => s.StartsWith("repair: needs the forget images' true classes"));

        // --candidates without --method auto is refused, naming the flag.
        var stderr = new StringWriter();
        Assert.Equal(1, TbarCli.Run(Unlearn("trigger:badnet:size=3", data, Path.Combine(temp, "x"), "--target", "Bag", "--method", "repair",
            "--candidates", "tbar"), new StringWriter(), stderr));
        Assert.Contains("--candidates goes with --method auto", stderr.ToString());
    }

    [Fact]
    public void AnalyzePathEndsExactlyAtTheBackdooredModelAndTheMethodsOutput()
    {
        string data = Images(), unlearned = Path.Combine(temp, "u"), path = Path.Combine(temp, "p");
        Run(Unlearn("trigger:badnet:size=3", data, unlearned, "--target", "Bag", "--ca-floor", "0.5"));
        Run("analyze", "path", "--unlearned", unlearned, "--points", "5", "--out", path);
        var result = PathAnalysis.Run(unlearned, 5);
        Assert.Equal(5, result.Points.Count);
        Assert.True(File.Exists(Path.Combine(path, "path.json")) && File.Exists(Path.Combine(path, "path.png")));
        // The end points are the two models themselves: their validation numbers are the ones each model gets on its own.
        var record = UnlearnRecord.Load(unlearned);
        using var model = Tbar.Models.ClipCheckpoint.Load(record.Options.Model);
        using var cleaned = Tbar.Models.ClipCheckpoint.Load(unlearned);
        using var splits = Tbar.Data.DataSpec.Load(record.Options.Val, 28);
        using var head = Tbar.Models.ZeroShotHead.ForClasses(model, Tbar.Models.Tokenizers.For(model, null), splits.Train.ClassNames);
        var task = UnlearnTask.FromPool(splits.Train, splits.TrainIndices, Tbar.Attacks.Triggers.Parse("badnet:size=3"),
            splits.Train.ClassIndex("Bag"), 6, 6, record.Seed);
        Assert.Equal(task.Point(model, head, 0), result.Points[0].Validation);
        Assert.Equal(PathAnalysis.CleanLoss(model, head, task), result.Points[0].CleanLoss);
        Assert.Equal(task.Point(cleaned, head, 1), result.Points[^1].Validation);
        Assert.Equal(PathAnalysis.CleanLoss(cleaned, head, task), result.Points[^1].CleanLoss);
        using var tau = Tbar.Arithmetic.TaskVector.Load(Path.Combine(unlearned, UnlearnRecord.TauFileName));
        double alpha = record.Results.Alpha ?? 0;
        // θ_out = θ_b − α·τ: the distance is α‖τ‖ and the direction −τ.
        Assert.Equal(alpha * tau.Norm(), result.Distance, 3);
        Assert.Equal(-1, result.TauCosine!.Value, 4);
    }

    /// <summary>
    /// A checkpoint of one's own: a Hugging Face folder stored in float16, and clean images in DIR/train alone (unlearn
    /// never reads DIR/test). The cleaned folder has the input's keys, shapes and stored dtypes, its config and tokenizer
    /// files, and the text tower's bytes unchanged.
    /// </summary>
    [Fact]
    public void UnlearnWritesACheckpointBackWithItsKeysDtypesAndCompanionFiles()
    {
        string model = Path.Combine(temp, "fp16"), cleaned = Path.Combine(temp, "c"), data = Images(withTest: false);
        Directory.CreateDirectory(model);
        foreach (var f in Directory.GetFiles(TbarRegressionTests.MiniClip()).Where(f => f.EndsWith(".json") || f.EndsWith(".txt")))
            File.Copy(f, Path.Combine(model, Path.GetFileName(f)));
        var weights = SafeTensors.Load(Path.Combine(TbarRegressionTests.MiniClip(), "model.safetensors"));
        SafeTensors.Save(Path.Combine(model, "model.safetensors"), weights.ToDictionary(p => p.Key, p => p.Value.to(ScalarType.Float16)));
        Run("unlearn", "--model", model, "--forget", "trigger:badnet:size=3", "--target", "Bag", "--val", data, "--forget-size", "6",
            "--val-size", "6", "--out", cleaned);

        var input = SafeTensors.Open(Path.Combine(model, "model.safetensors"));
        var output = SafeTensors.Open(Path.Combine(cleaned, "model.safetensors"));
        static string Describe(SafeTensorEntry e) => $"{e.Name} {e.DType} [{string.Join(",", e.Shape)}]";
        Assert.Equal(input.Entries.Select(Describe), output.Entries.Select(Describe));
        Assert.All(input.Entries.Select(e => e.Name).Where(k => !k.StartsWith("vision_model.") && k != "visual_projection.weight"),
            k => Assert.Equal(CheckpointTests.StoredBytes(input, k), CheckpointTests.StoredBytes(output, k)));
        foreach (var name in new[] { "config.json", "preprocessor_config.json", "vocab.json", "merges.txt" })
            Assert.Equal(File.ReadAllText(Path.Combine(model, name)), File.ReadAllText(Path.Combine(cleaned, name)));
    }

    /// <summary>
    /// A mini-CLIP calibration of made-up clean statistics at a tiny inversion budget, for tests of the files a scan
    /// writes (not of its numbers); returns its path under <paramref name="dir"/>.
    /// </summary>
    public static string TinyCalibration(string dir)
    {
        string path = Path.Combine(dir, "calibration.json");
        string architecture = ScanCalibration.Load(Path.Combine(TbarRegressionTests.MiniClip(), "scan-calibration.json")).Architecture;
        var clean = Enumerable.Range(0, 4).Select(i => new CalibrationModel($"clean-seed-{i}", 0.02 + 0.001 * i, 0.7, 0.5 + 0.01 * i)).ToList();
        var budget = ScanOptions.Default with { Inversion = new InversionOptions(Steps: 3), Warp = new WarpOptions(Steps: 2, Starts: 1) };
        Detector.Calibrate(clean, [], architecture, 0.05, budget).Save(path);
        return path;
    }

    [Fact]
    public void ACalibrationKeepsEachMeasurementAndReadsItBackInsteadOfMeasuringAgain()
    {
        string data = Images(), parts = Path.Combine(temp, "parts"), model = TbarRegressionTests.MiniClip();
        string[] Calibrate(string output) => ["scan", "calibrate", "--models", model, model, model, "--clean", data, "--steps", "2",
            "--warp-steps", "2", "--batch", "4", "--parts", parts, "--out", Path.Combine(temp, output)];
        Run(Calibrate("first.json"));
        // One model given three times: measured once, then read back twice.
        var kept = Directory.GetFiles(parts, "*.json");
        Assert.Single(kept);
        // A later calibration (as after a stop) reads what was kept: an edited value shows up in its fit, nothing is re-measured.
        var measurement = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(kept[0]))!;
        measurement["pl1"] = 0.4321;
        File.WriteAllText(kept[0], measurement.ToJsonString());
        var stdout = new StringWriter();
        Assert.Equal(0, TbarCli.Run(Calibrate("second.json"), stdout, new StringWriter()));
        Assert.Equal(3, System.Text.RegularExpressions.Regex.Matches(stdout.ToString(), "PL1 43[.,]21 ?%.*measured before").Count);
    }

    [Fact]
    public void AScanWithADecreeOnlyCalibrationRunsThatRuleAndSaysSo()
    {
        string data = Images(), scanned = Path.Combine(temp, "s"), decreeOnly = Path.Combine(temp, "decree-only.json");
        // A calibration of the older kind: the shipped one without its two-inversion verdict.
        (ScanCalibration.Load(Path.Combine(TbarRegressionTests.MiniClip(), "scan-calibration.json")) with { Verdict = null }).Save(decreeOnly);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        // Threshold 1 (PL1 < 100 %): every stamp is "backdoored", so --fail-on-backdoor exits 3 through the DECREE-only path too.
        int code = TbarCli.Run(["scan", "--model", TbarRegressionTests.MiniClip(), "--clean", data, "--calibration", decreeOnly, "--steps", "3",
            "--threshold", "1", "--fail-on-backdoor", "--out", scanned], stdout, stderr);
        Assert.True(code == 3, stderr.ToString());
        Assert.Contains("holds DECREE's PL1 rule only", stdout.ToString());
        var scan = ScanRecord.Load(scanned);
        Assert.True(scan.Results.Backdoored);
        Assert.Null(scan.Results.Warp);
    }

    [Fact]
    public void UnlearnTakesTheTargetAScanInferred()
    {
        string data = Images(), scanned = Path.Combine(temp, "s"), unlearned = Path.Combine(temp, "u");
        // Any percentile above 1e-12 is "backdoored", so --fail-on-backdoor must exit 3.
        string calibration = TinyCalibration(temp);
        string[] scanArgs = ["scan", "--model", TbarRegressionTests.MiniClip(), "--clean", data, "--calibration", calibration, "--threshold", "1e-12",
            "--out", scanned];
        var stderr = new StringWriter();
        Assert.Equal(3, TbarCli.Run([.. scanArgs, "--fail-on-backdoor"], new StringWriter(), stderr));
        var scan = ScanRecord.Load(scanned);
        Assert.True(scan.Results.Backdoored, stderr.ToString());
        Assert.NotNull(scan.Results.Warp);
        Assert.True(File.Exists(Path.Combine(scanned, "warp.safetensors")) && File.Exists(Path.Combine(scanned, "warp-samples.png")));
        Assert.Contains(scan.Results.TargetName, Classes);
        Assert.Equal(TbarRegressionTests.MiniClip(), scan.Options.Model);

        Run(Unlearn($"inverted:{scanned}", data, unlearned));
        var record = UnlearnRecord.Load(unlearned);
        Assert.Equal(scan.Results.TargetName, record.Options.Target);
        Assert.Equal($"inverted:{scanned}", record.Options.Forget);
    }

    [Fact]
    public void CommittedOutputsStillLoad()
    {
        var scans = Directory.GetFiles(Path.Combine(SourceFiles.Root(), "experiments"), ScanRecord.FileName, SearchOption.AllDirectories);
        Assert.NotEmpty(scans);
        foreach (var file in scans) Assert.False(string.IsNullOrEmpty(ScanRecord.Load(Path.GetDirectoryName(file)!).Results.TargetName));
        var reports = Directory.GetFiles(Path.Combine(SourceFiles.Root(), "experiments", "contrastive"), "unlearn-*.json");
        Assert.NotEmpty(reports);
        foreach (var file in reports) Assert.False(string.IsNullOrEmpty(StoredRun<UnlearnSettings, UnlearnSummary>.Load(file, "tbar unlearn").Options.Model));
    }

    [Fact]
    public void TheShippedModelsPretrainRecordLoads()
    {
        string path = Path.Combine(Path.GetDirectoryName(TbarRegressionTests.MiniClip())!, "mini-clip", "pretrain.json");
        var record = StoredRun<JsonElement, PretrainSummary>.Load(path, "tbar pretrain");
        Assert.Equal(8687, record.Results.Correct);
    }

    /// <summary>The contrastive table is rebuilt, character for character, from the committed eval and unlearn records.</summary>
    [Fact]
    public void TheContrastiveTableIsRebuiltFromItsRecords()
    {
        string dir = Path.Combine(SourceFiles.Root(), "experiments", "contrastive");
        string table = DefenceTable.Markdown(dir, "backdoored (contrastive)", ["tbar", "tbar-floor75", "tbar-refit", "finetune", "ga", "cleanclip"]);
        Assert.Equal(File.ReadAllText(Path.Combine(dir, "table.md")), table);
    }
}
