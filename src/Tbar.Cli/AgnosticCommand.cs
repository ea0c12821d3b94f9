using System.CommandLine;
using Spectre.Console;
using Tbar.Inversion;
using Tbar.Pipelines;
using Tbar.Reporting;

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
        var seeds = new Option<long[]>("--seeds")
        {
            Description = "Test seeds",
            DefaultValueFactory = _ => [1, 2, 3],
            AllowMultipleArgumentsPerToken = true,
        };
        var calibrationSeeds = new Option<long[]>("--calibration-seeds")
        {
            Description = "Seeds of the clean calibration fine-tunes",
            DefaultValueFactory = _ => [100, 101],
            AllowMultipleArgumentsPerToken = true,
        };
        var triggers = new Option<string[]>("--triggers")
        {
            Description = "Planted triggers",
            DefaultValueFactory = _ => ["badnet:size=3", "blended:ratio=0.2", "wanet:k=4,s=6"],
            AllowMultipleArgumentsPerToken = true,
        };
        var calibration = new Option<string?>("--calibration") { Description = "Use this calibration instead of making one" };
        var quick = new Option<bool>("--quick")
        {
            Description = "Smoke run: 3000 training images, 1 epoch, 50 inversion steps, small sets (numbers mean little)",
        };
        var command = new Command("agnostic", "Scan → verdict → TBAR on the inverted trigger, for backdoored and clean models over seeds.")
            { output, seeds, calibrationSeeds, triggers, calibration, quick };
        command.SetAction(r =>
        {
            var o = new AgnosticOptions(ModelNames.MiniClip, r.GetValue(triggers)!, r.GetValue(seeds)!, r.GetValue(calibrationSeeds)!);
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
            string model = $"{o.Model} after a {(row.ReallyBackdoored ? "poisoned" : "clean")} fine-tune, seed {row.Seed} (not saved)";
            var settings = ScanSettings.Of(model, o.Data, o.ScanSettings, planted: row.ReallyBackdoored ? row.Trigger : null);
            ScanReport.Write(dir, Environment.CommandLine, settings, row.Verdict, row.Verdict.Inversion.Seconds);
            AgnosticReport.Save(outDir, Environment.CommandLine, rows, o, calibration, clock.Elapsed.TotalSeconds);
        }));
        stdout.WriteLine(AgnosticReport.Markdown(rows, calibration));
        return 0;
    }
}
