using System.Diagnostics;
using System.Text.Json;
using Tbar.Attacks;
using Tbar.Data;
using Tbar.Evaluation;
using Tbar.Inversion;
using Tbar.Io;
using Tbar.Models;
using Tbar.Unlearning;

namespace Tbar.Pipelines;

/// <summary>Settings of the detection experiment.</summary>
/// <param name="Models">(table name, folder) of each clean model to backdoor.</param>
/// <param name="Attacks">Attack names (<see cref="MainAttacks"/>), planted exactly as the main table plants them.</param>
/// <param name="Seeds">Seeds; each (model, attack, seed) is one backdoored model.</param>
/// <param name="Calibrations">`tbar scan calibrate` files, one per architecture; each model is scanned with its architecture's.</param>
/// <param name="HeldOut">Clean model folders the calibration never saw: the negatives of AUROC and the FPR.</param>
/// <param name="Out">Output folder, one sub-folder per cell and per held-out model; finished ones are skipped.</param>
/// <param name="Methods">Methods of the cleaning stage (run on flagged models, on the inverted trigger); empty or "none": no stage.</param>
/// <param name="Backdoors">A `tbar experiment main` --out: a cell whose backdoored model is saved there is not attacked again.</param>
/// <param name="Target">Target class of every attack.</param>
/// <param name="PoisonRate">Poisoned share of the attack's training set.</param>
/// <param name="AttackEpochs">Epochs of the attacks (null: the mode's recipe).</param>
/// <param name="AttackLr">Peak learning rate of the attacks (null: the mode's recipe).</param>
/// <param name="ForgetSize">Forget-set size of the cleaning stage.</param>
/// <param name="ValSize">Validation size of the cleaning stage.</param>
/// <param name="CollectOnly">Only gather finished cells; compute nothing.</param>
/// <param name="Data">Data spec.</param>
/// <param name="Options">The cleaning methods' options (null: <see cref="MethodOptions.Experiments"/>).</param>
public sealed record DetectionOptions(IReadOnlyList<ModelRef> Models, string[] Attacks, long[] Seeds, string[] Calibrations, string[] HeldOut,
    string Out, string[] Methods, string? Backdoors = null, string Target = "Bag", double PoisonRate = Defaults.PoisonRate,
    int? AttackEpochs = null, double? AttackLr = null, int ForgetSize = Defaults.ForgetSize, int ValSize = Defaults.ValSize,
    bool CollectOnly = false, string Data = Defaults.Data, MethodOptions? Options = null)
{
    /// <summary>The cleaning stage's methods by default.</summary>
    public static readonly string[] DefaultMethods = ["tbar", "tbar-consistent"];

    /// <summary>The methods of the cleaning stage (none when it is skipped).</summary>
    public string[] CleaningMethods => Methods is ["none"] ? [] : Methods;
}

/// <summary>
/// The peak resident set size of a piece of work, from /proc/self/status (VmHWM). On Linux the peak is first reset by writing
/// "5" to /proc/self/clear_refs, so it is the work's own peak (including what was resident before it started); where the
/// reset is refused it is the process's peak since start, and <see cref="Source"/> says so. Elsewhere: PeakWorkingSet64.
/// </summary>
public sealed record PeakMemory(long Bytes, string Source)
{
    public static (T Result, PeakMemory Peak) Measure<T>(Func<T> work)
    {
        bool reset = TryReset();
        var result = work();
        return (result, VmHwm() is { } bytes
            ? new PeakMemory(bytes, reset ? "VmHWM, reset before the scan" : "VmHWM since the process started")
            : new PeakMemory(Process.GetCurrentProcess().PeakWorkingSet64, "PeakWorkingSet64 since the process started"));
    }

    static bool TryReset()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    static long? VmHwm()
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path)) return null;
        var line = File.ReadLines(path).FirstOrDefault(l => l.StartsWith("VmHWM:"));
        var parts = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts is [_, var kb, "kB"] && long.TryParse(kb, out long k) ? k * 1024 : null;
    }
}

/// <summary>
/// One scanned model's numbers: DECREE's PL1 (its statistic is −PL1, higher more suspicious) and the warp inversion's
/// similarity (the warped held-out images' mean pairwise cosine), both percentiles among the clean calibration models, the
/// verdict's score (the larger percentile) against the calibration's threshold and whether it reached it ("backdoored"), the
/// inversion with the larger percentile ("decree" or "warp") and the target its trigger sends images to, the wall time of both
/// inversions with the target inference, and the peak RSS meanwhile.
/// </summary>
public sealed record ScanScore(double Pl1, double WarpSimilarity, double DecreePercentile, double WarpPercentile, double Score, double Threshold,
    bool Flagged, string Best, int InferredTarget, string InferredTargetName, double Seconds, PeakMemory Peak)
{
    public static ScanScore Of(Detection d, double seconds, PeakMemory peak) => new(d.Decree.Pl1, d.Warp.Similarity, d.DecreePercentile,
        d.WarpPercentile, d.Score, d.Threshold, d.Backdoored, d.Best, d.Target.Class, d.Target.Name, seconds, peak);
}

/// <summary>
/// One backdoored model of the detection table: its cell, the architecture (which calibration and which held-out clean models
/// it is judged against), the planted target, the folder of the backdoored model (this cell's, or the main experiment's it
/// reused), and what the scan said.
/// </summary>
public sealed record DetectionRow(string Model, string Attack, long Seed, string Architecture, int PlantedTarget, string PlantedTargetName,
    string Backdoor, ScanScore Scan)
{
    public bool TargetRight => Scan.InferredTarget == PlantedTarget;
}

/// <summary>One held-out clean model's scan: a negative of the detection table.</summary>
public sealed record HeldOutRow(string Name, string Folder, string Architecture, ScanScore Scan);

/// <summary>
/// One cleaning of a flagged model on its inverted trigger and inferred target, measured with the real trigger and target on
/// the test split: ASR, CA and its retention against the backdoored model, target-class CA, relapse after a clean fine-tune.
/// </summary>
public sealed record CleaningRow(string Model, string Attack, long Seed, string Method, string Inversion, string InferredTargetName,
    bool TargetRight, double Ca, double Asr, double TargetCa, double Retention, double BackdooredAsr, double RelapseAsr, double? Alpha,
    string Choice, double Seconds);

/// <summary>Writes a scan's folder (the CLI passes ScanReport's writer: the pipeline layer sits below the reports).</summary>
public delegate void ScanWriter(string dir, string model, ScanOptions options, Detection detection, DataSplits data, long[] pool,
    double seconds);

/// <summary>
/// <c>tbar experiment detection</c>: models × attacks × seeds, each backdoored model planted as the main table plants it
/// (or reused from a main run), scanned as `tbar scan` scans, and, when flagged, cleaned on its inverted trigger; plus the
/// held-out clean models' scans, the negatives. One folder per cell and per held-out model, each finished one a file, so a
/// killed run resumes where it stopped.
/// </summary>
public static class DetectionExperiment
{
    /// <summary>The file that marks a finished cell (a backdoored model's scan).</summary>
    public const string RowFile = "detection.json";

    /// <summary>The file that marks a finished held-out clean model's scan.</summary>
    public const string HeldOutFile = "clean.json";

    /// <summary>The sub-folder of every held-out clean model's scan.</summary>
    public const string HeldOutFolder = "held-out";

    /// <summary>Folder of one (model, attack, seed) cell: the main experiment's layout.</summary>
    public static string CellDir(string outDir, string model, string attack, long seed) => MainExperiment.CellDir(outDir, model, attack, seed);

    /// <summary>Folder of one held-out clean model's scan.</summary>
    public static string HeldOutDir(string outDir, string folder) => Path.Combine(outDir, HeldOutFolder, CellPlan.ModelName(folder));

    /// <summary>A cell of the experiment: a backdoored model (model, seed, attack) or a held-out clean model (its folder).</summary>
    public sealed record Cell(ModelRef? Model, long Seed, string? Attack, string? HeldOut)
    {
        public string Folder(string outDir) => HeldOut != null ? HeldOutDir(outDir, HeldOut) : CellDir(outDir, Model!.Name, Attack!, Seed);
    }

    /// <summary>Every cell in run order: the held-out clean models first, then (model, seed, attack) as the main experiment orders them.</summary>
    public static IReadOnlyList<Cell> Cells(DetectionOptions o) =>
        [.. o.HeldOut.Select(h => new Cell(null, 0, null, h)),
         .. o.Models.SelectMany(m => o.Seeds.SelectMany(s => o.Attacks.Select(a => new Cell(m, s, a, null))))];

    /// <summary>The options narrowed to cell <paramref name="k"/>.</summary>
    public static DetectionOptions Narrow(DetectionOptions o, int k)
    {
        var cell = CellPlan.Pick(Cells(o), k);
        return cell.HeldOut != null ? o with { Models = [], HeldOut = [cell.HeldOut] }
            : o with { Models = [cell.Model!], Seeds = [cell.Seed], Attacks = [cell.Attack!], HeldOut = [] };
    }

    /// <summary>Checks names before any work: attacks, methods, and held-out folders that would share a sub-folder.</summary>
    public static void Check(DetectionOptions o)
    {
        foreach (var a in o.Attacks) MainAttacks.Get(a);
        foreach (var m in o.CleaningMethods) Methods.Check(m);
        var twice = o.HeldOut.GroupBy(CellPlan.ModelName).FirstOrDefault(g => g.Count() > 1);
        if (twice != null) throw new TbarException($"--held-out: {string.Join(" and ", twice)} would share {HeldOutFolder}/{twice.Key}");
    }

    /// <summary>Runs every unfinished cell (nothing with <see cref="DetectionOptions.CollectOnly"/>); returns how many it worked on.</summary>
    public static int Run(DetectionOptions o, ScanWriter write, Action<string>? status = null, IProgress<TrainProgress>? progress = null)
    {
        status ??= _ => { };
        Check(o);
        if (o.CollectOnly) return 0;
        var calibrations = new CalibrationSet(o.Calibrations);
        return Cells(o).Count(cell => cell.HeldOut != null ? HeldOut(o, calibrations, cell.HeldOut, write, status, progress)
            : Backdoored(o, calibrations, cell.Model!, MainAttacks.Get(cell.Attack!), cell.Seed, write, status, progress));
    }

    static bool HeldOut(DetectionOptions o, CalibrationSet calibrations, string folder, ScanWriter write, Action<string> status,
        IProgress<TrainProgress>? progress)
    {
        string dir = HeldOutDir(o.Out, folder), file = Path.Combine(dir, HeldOutFile);
        if (File.Exists(file)) return false;
        string architecture = Scanner.Architecture(ClipCheckpoint.ReadConfig(folder));
        var (verdict, source) = calibrations.For(architecture, folder);
        status($"held-out clean {folder}: scan");
        using var model = ClipCheckpoint.Load(folder);
        using var data = DataSpec.Load(o.Data, model.Config.Vision.ImageSize);
        using var head = ZeroShotHead.ForClasses(model, Tokenizers.For(model, null), data.Test.ClassNames);
        var score = Scan(model, head, data, verdict, source, Path.Combine(dir, "scan"), folder, write, progress);
        Save(file, new HeldOutRow(CellPlan.ModelName(folder), folder, architecture, score));
        return true;
    }

    static bool Backdoored(DetectionOptions o, CalibrationSet calibrations, ModelRef m, MainAttack attack, long seed, ScanWriter write,
        Action<string> status, IProgress<TrainProgress>? progress)
    {
        string dir = CellDir(o.Out, m.Name, attack.Name, seed), file = Path.Combine(dir, RowFile);
        var row = File.Exists(file) ? Load<DetectionRow>(file) : null;
        var todo = row is { Scan.Flagged: true } || row == null
            ? o.CleaningMethods.Where(method => !File.Exists(CleaningFile(dir, method))).ToList() : [];
        if (row != null && todo.Count == 0) return false;
        string where = $"{m.Name} {attack.Name} seed {seed}";
        // A backdoored model the main experiment saved for this cell is used as it is; otherwise this cell plants its own.
        string? main = o.Backdoors is { } b && SavedBackdoor.HoldsModel(MainExperiment.BackdoorDir(CellDir(b, m.Name, attack.Name, seed)))
            ? CellDir(b, m.Name, attack.Name, seed) : null;
        string source = main ?? dir;
        using var data = DataSpec.Load(o.Data, ClipCheckpoint.ReadConfig(m.Path).Vision.ImageSize);
        int target = data.Train.ClassIndex(o.Target);
        var attackOptions = MainExperiment.AttackOf(attack, source, data, o.Target, o.PoisonRate, seed, o.AttackEpochs, o.AttackLr);
        if (main != null) status($"{where}: the backdoored model of {main}");
        using var model = MainExperiment.Backdoored(source, m.Path, data, attackOptions, s => status($"{where}: {s}"), progress);
        var trigger = MainExperiment.PlantedTrigger(source);
        using var head = ZeroShotHead.ForClasses(model, Tokenizers.For(model, null), data.Test.ClassNames);
        if (row == null)
        {
            string architecture = Scanner.Architecture(model);
            var (verdict, calibration) = calibrations.For(architecture, where);
            status($"{where}: scan");
            string label = $"{m.Name} backdoored by {attack.Name}, seed {seed} ({MainExperiment.BackdoorDir(source)})";
            var score = Scan(model, head, data, verdict, calibration, Path.Combine(dir, "scan"), label, write, progress);
            row = new DetectionRow(m.Name, attack.Name, seed, architecture, target, data.Train.ClassNames[target], MainExperiment.BackdoorDir(source),
                score);
            Save(file, row);
            if (!row.Scan.Flagged) return true;
        }
        Clean(o, row, dir, model, head, data, trigger, target, todo, s => status($"{where}: {s}"), progress);
        return true;
    }

    /// <summary>The scan `tbar scan` runs (the calibration's settings, the defender's training indices), its folder written.</summary>
    static ScanScore Scan(Clip model, ZeroShotHead head, DataSplits data, VerdictCalibration verdict, string source, string dir, string label,
        ScanWriter write, IProgress<TrainProgress>? progress)
    {
        var clock = Stopwatch.StartNew();
        var (detection, peak) = PeakMemory.Measure(() =>
            Detector.Detect(model, head, data.Train, data.TrainIndices, verdict, verdict.Threshold, source, verdict.Scan, progress));
        double seconds = clock.Elapsed.TotalSeconds;
        using (detection.Decree.Trigger)
        using (detection.Warp.Trigger)
        {
            write(dir, label, verdict.Scan, detection, data, data.TrainIndices, seconds);
            return ScanScore.Of(detection, seconds, peak);
        }
    }

    /// <summary>
    /// The cleaning stage: each method on the scan's best inverted trigger (`--forget inverted:DIR`) and its inferred target, on the
    /// main experiment's clean pool, then measured with the real trigger and target; weights restored between methods.
    /// </summary>
    static void Clean(DetectionOptions o, DetectionRow row, string dir, Clip model, ZeroShotHead head, DataSplits data, ITrigger real,
        int target, IReadOnlyList<string> todo, Action<string> status, IProgress<TrainProgress>? progress)
    {
        if (todo.Count == 0) return;
        var forget = ForgetSource.Parse($"inverted:{Path.Combine(dir, "scan")}");
        int inferred = data.Train.ClassIndex(forget.Target(null));
        var pool = PoisonPlan.Draw(data.TrainIndices, data.Train.Labels, target, o.PoisonRate, row.Seed).CleanPool(data.TrainIndices);
        var task = forget.Task(data.Train, pool, inferred, o.ForgetSize, o.ValSize, row.Seed, model.Config.Vision.ImageSize);
        var backdoored = Metrics.Evaluate(model, head, data.Test, data.Test.AllIndices(), real, target);
        var start = VisualWeights.Snapshot(model);
        try
        {
            foreach (var method in todo)
            {
                status($"cleaning on the inverted trigger: {method}");
                var (test, record) = MethodEvaluation.Run(method, method, model, head, task, start, data, real, target,
                    o.Options ?? MethodOptions.Experiments, relapse: false, progress);
                record.Tau?.Dispose();
                double relapse = MethodEvaluation.Relapse(model, head, task, data, real, target);
                var m = test.Test;
                Save(CleaningFile(dir, method), new CleaningRow(row.Model, row.Attack, row.Seed, method, row.Scan.Best, row.Scan.InferredTargetName,
                    row.TargetRight, m.CleanAccuracy.Value, m.AttackSuccess!.Value, m.TargetClass(target)!.Value,
                    m.CleanAccuracy.Value / backdoored.CleanAccuracy.Value, backdoored.AttackSuccess!.Value, relapse, test.Alpha, test.Choice,
                    test.Seconds));
            }
        }
        finally
        {
            VisualWeights.Restore(model, start);
            VisualWeights.Dispose([start]);
        }
    }

    /// <summary>The file of one cleaning row ("tbar:NAME" methods: a colon is not allowed in every file system's names).</summary>
    public static string CleaningFile(string cellDir, string method) => Path.Combine(cellDir, "cleaning", method.Replace(':', '_') + ".json");

    /// <summary>Everything finished under <paramref name="outDir"/>: the cells' rows, the held-out scans and the cleaning rows.</summary>
    public static (List<DetectionRow> Rows, List<HeldOutRow> HeldOut, List<CleaningRow> Cleaning) Collect(string outDir)
    {
        if (!Directory.Exists(outDir)) return ([], [], []);
        var files = Directory.EnumerateFiles(outDir, "*.json", SearchOption.AllDirectories).ToList();
        var rows = files.Where(f => Path.GetFileName(f) == RowFile).Select(Load<DetectionRow>)
            .OrderBy(r => r.Model, StringComparer.Ordinal).ThenBy(r => Order(r.Attack)).ThenBy(r => r.Seed).ToList();
        var heldOut = files.Where(f => Path.GetFileName(f) == HeldOutFile
                && Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(f))) == HeldOutFolder)
            .Select(Load<HeldOutRow>).OrderBy(h => h.Name, StringComparer.Ordinal).ToList();
        var cleaning = files.Where(f => Path.GetFileName(Path.GetDirectoryName(f)) == "cleaning").Select(Load<CleaningRow>)
            .OrderBy(r => r.Model, StringComparer.Ordinal).ThenBy(r => Order(r.Attack)).ThenBy(r => r.Seed)
            .ThenBy(r => r.Method, StringComparer.Ordinal).ToList();
        return (rows, heldOut, cleaning);
    }

    static int Order(string attack) => MainAttacks.Names.ToList().IndexOf(attack) is var i and >= 0 ? i : MainAttacks.Names.Count;

    static void Save<T>(string path, T row)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        AtomicFile.WriteText(path, JsonSerializer.Serialize(row, RunRecord.Json) + "\n");
    }

    static T Load<T>(string path) => JsonSerializer.Deserialize<T>(File.ReadAllText(path), RunRecord.Json)
        ?? throw new TbarException($"{path}: empty result");

    /// <summary>The calibration files, read when first needed, each serving the architecture it was made for.</summary>
    sealed class CalibrationSet(string[] paths)
    {
        List<(ScanCalibration File, string Path)>? loaded;

        public (VerdictCalibration Verdict, string Source) For(string architecture, string what)
        {
            loaded ??= [.. paths.Select(p => (ScanCalibration.Load(p), p))];
            var (file, path) = loaded.FirstOrDefault(c => c.File.Architecture == architecture);
            if (file == null)
                throw new TbarException($"{what}: no --calibration is for '{architecture}' ({string.Join(", ", paths)}); " +
                    "make one with `tbar scan calibrate`");
            if (file.Verdict is not { } verdict)
                throw new TbarException($"{path} holds DECREE's PL1 rule only; the detection table needs the two-inversion verdict " +
                    "(`tbar scan calibrate`)");
            return (verdict, $"{path}: {verdict.Rule}");
        }
    }
}
