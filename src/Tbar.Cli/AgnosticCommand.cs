using System.CommandLine;
using System.Text;
using Spectre.Console;
using Tbar.Inversion;
using Tbar.Io;
using Tbar.Pipelines;

namespace Tbar.Cli;

/// <summary>
/// <c>tbar experiment agnostic</c>: the README's attack-agnostic table. Calibrates the scan threshold on clean models
/// (pre-trained + clean fine-tunes with calibration seeds), then for each test seed scans a clean fine-tune and one
/// backdoored model per trigger, and cleans flagged models on the inverted trigger.
/// </summary>
static class AgnosticCommand
{
    public static Command Create(TextWriter stdout)
    {
        var output = new Option<string>("--out") { Description = "Output folder", DefaultValueFactory = _ => "experiments/agnostic" };
        var seeds = new Option<long[]>("--seeds") { Description = "Test seeds", DefaultValueFactory = _ => [1, 2, 3], AllowMultipleArgumentsPerToken = true };
        var calibrationSeeds = new Option<long[]>("--calibration-seeds") { Description = "Seeds of the clean calibration fine-tunes", DefaultValueFactory = _ => [100, 101], AllowMultipleArgumentsPerToken = true };
        var triggers = new Option<string[]>("--triggers") { Description = "Planted triggers", DefaultValueFactory = _ => ["badnet:size=3", "blended:ratio=0.2", "wanet:k=4,s=6"], AllowMultipleArgumentsPerToken = true };
        var calibration = new Option<string?>("--calibration") { Description = "Use this calibration instead of making one" };
        var quick = new Option<bool>("--quick") { Description = "Smoke run: 3000 training images, 1 epoch, 50 inversion steps, small sets (numbers mean little)" };
        var command = new Command("agnostic", "Scan → verdict → TBAR on the inverted trigger, for backdoored and clean models over seeds.")
            { output, seeds, calibrationSeeds, triggers, calibration, quick };
        command.SetAction(r =>
        {
            var o = new AgnosticOptions(Defaults.MiniClip, r.GetValue(triggers)!, r.GetValue(seeds)!, r.GetValue(calibrationSeeds)!);
            if (r.GetValue(quick))
                o = o with { TrainLimit = 3000, AttackEpochs = 1, ForgetSize = 200, ValSize = 300,
                    Scan = new ScanOptions(new InversionOptions(Steps: 50, BatchSize: 64), Images: 300, HeldOut: 200) };
            return Run(o, r.GetValue(calibration), r.GetValue(output)!, stdout);
        });
        return command;
    }

    static int Run(AgnosticOptions o, string? calibrationPath, string outDir, TextWriter stdout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var console = Output.Console(stdout);
        Directory.CreateDirectory(outDir);
        void Status(string s) => console.MarkupLine($"[grey]{Markup.Escape(s)}[/]");
        var calibration = calibrationPath != null ? ScanCalibration.Load(calibrationPath)
            : ProgressBar.Run(stdout, "calibration", p => AgnosticExperiment.Calibrate(o, Status, p));
        calibration.Save(Path.Combine(outDir, "calibration.json"));
        Status($"threshold {calibration.Threshold:P2}: {calibration.Rule}");
        var rows = new List<AgnosticRow>();
        ProgressBar.Run(stdout, "agnostic", p => AgnosticExperiment.Run(o, calibration, Status, p, row =>
        {
            rows.Add(row);
            string dir = Path.Combine(outDir, $"seed-{row.Seed}", row.Trigger.Split(':')[0]);
            ScanCommand.Write(row.Verdict, dir, $"{o.Model} after {row.Trigger} (seed {row.Seed}, in memory)", o.Data, o.ScanSettings, row.Verdict.Inversion.Seconds);
            Save(rows, o, calibration, outDir, clock.Elapsed.TotalSeconds);
        }));
        stdout.WriteLine(File.ReadAllText(Path.Combine(outDir, "table.md")));
        return 0;
    }

    static void Save(List<AgnosticRow> rows, AgnosticOptions o, ScanCalibration calibration, string outDir, double seconds)
    {
        var results = rows.Select(r => new
        {
            seed = r.Seed, trigger = r.Trigger, really_backdoored = r.ReallyBackdoored, scan = ScanCommand.Summary(r.Verdict),
            model = new { ca = r.Model.Test.CleanAccuracy.Value, asr = r.Model.Test.AttackSuccess?.Value, seconds = r.Model.Seconds },
            cleaned = r.Cleaned.Select(c => new
            {
                method = c.Name, ca = c.Test.CleanAccuracy.Value, asr = c.Test.AttackSuccess?.Value, retention = c.Test.CleanAccuracy.Value / r.Model.Test.CleanAccuracy.Value,
                alpha = c.Alpha, seconds = c.Seconds, choice = c.Choice,
            }),
        });
        new RunRecord(Environment.CommandLine, new { o.Model, o.Triggers, o.Seeds, o.CalibrationSeeds, o.Target, scan = o.ScanSettings }, o.Seeds.FirstOrDefault(),
            new { calibration, rows = results }, seconds).Save(Path.Combine(outDir, "results.json"));
        AtomicFile.WriteText(Path.Combine(outDir, "table.md"), Markdown(rows, calibration));
    }

    static string Markdown(List<AgnosticRow> rows, ScanCalibration calibration)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"Threshold PL1 < {calibration.Threshold:P2} ({calibration.Rule}; clean models: " +
            string.Join(", ", calibration.CleanModels.Select(m => $"{m.Model} {m.Pl1:P2}")) + ").\n");
        string[] methods = [.. Agnostic.ProxyMethods.Select(m => $"{m} (inverted)"), "tbar (known trigger)"];
        sb.AppendLine("| seed | planted trigger | test CA / ASR | PL1 | verdict | inferred target (share) | " +
            string.Join(" | ", methods.Select(m => $"{m}: CA / ASR / retention")) + " |");
        sb.AppendLine("|---|---|---|---|---|---|" + string.Concat(methods.Select(_ => "---|")));
        foreach (var r in rows)
        {
            string Cell(string name)
            {
                var c = r.Cleaned.FirstOrDefault(x => x.Name == name);
                return c == null ? "-" : $"{c.Test.CleanAccuracy.Value:P1} / {c.Test.AttackSuccess?.Value:P1} / {c.Test.CleanAccuracy.Value / r.Model.Test.CleanAccuracy.Value:P1}";
            }
            bool right = r.Verdict.Backdoored == r.ReallyBackdoored;
            sb.AppendLine($"| {r.Seed} | {r.Trigger} | {r.Model.Test.CleanAccuracy.Value:P1} / {r.Model.Test.AttackSuccess?.Value:P1} | {r.Verdict.Pl1:P2} | " +
                $"{(r.Verdict.Backdoored ? "backdoored" : "clean")} ({(right ? "right" : "wrong")}) | {r.Verdict.TargetName} ({r.Verdict.TargetShare.Value:P0}) | " +
                string.Join(" | ", methods.Select(Cell)) + " |");
        }
        return sb.ToString();
    }
}
