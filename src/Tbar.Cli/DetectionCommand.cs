using System.CommandLine;
using Spectre.Console;
using Tbar.Pipelines;
using Tbar.Reporting;
using Tbar.Unlearning;

namespace Tbar.Cli;

/// <summary>
/// <c>tbar experiment detection</c>: the detection table. Every (model, attack, seed) is backdoored as `experiment main` does it
/// (or taken from a main run's folder), scanned as `tbar scan` scans, and, when flagged, cleaned on its inverted trigger; the
/// held-out clean models are scanned once each. One folder per cell, resumable; the table is made from every finished cell.
/// </summary>
static class DetectionCommand
{
    public static Command Create(TextWriter stdout)
    {
        var output = new Option<string>("--out") { Description = "Output folder (resumable)", DefaultValueFactory = _ => "experiments/detection" };
        var models = Output.Many("--models", "Clean models: mini-clip, rn18-clip or folders", ["mini-clip"]);
        var attacks = Output.Many("--attacks", $"Attacks ({string.Join(", ", MainAttacks.Names)})", [.. MainAttacks.Names]);
        var seeds = new Option<long[]>("--seeds")
            { Description = "Seeds", DefaultValueFactory = _ => [0, 1, 2], AllowMultipleArgumentsPerToken = true };
        var calibration = Output.Many("--calibration", "`tbar scan calibrate` files, one per architecture (default: the mini-CLIP's)",
            [ScanCommand.ShippedCalibration]);
        var heldOut = new Option<string[]>("--held-out")
        {
            Description = "Clean model folders the calibration never saw: the negatives (AUROC, FPR)", AllowMultipleArgumentsPerToken = true,
        };
        var methods = Output.Many("--methods", "Methods that clean flagged models on the inverted trigger ('none': no cleaning stage)",
            DetectionOptions.DefaultMethods);
        var backdoors = new Option<string?>("--backdoors")
            { Description = "A `tbar experiment main` --out: cells whose backdoored model is saved there are not attacked again" };
        var epochs = new Option<int?>("--attack-epochs") { Description = "Epochs of every attack (default: the mode's recipe)" };
        var lr = new Option<double?>("--attack-lr") { Description = "Peak LR of every attack (default: the mode's recipe)" };
        var collect = new Option<bool>("--collect") { Description = "Only gather the cells already finished under --out (compute nothing)" };
        var data = new Option<string>("--data") { Description = "Data spec", DefaultValueFactory = _ => Defaults.Data };
        var forget = new Option<int>("--forget-size") { Description = "Forget-set size of the cleaning stage",
            DefaultValueFactory = _ => Defaults.ForgetSize };
        var val = new Option<int>("--val-size")
            { Description = "Validation size of the cleaning stage", DefaultValueFactory = _ => Defaults.ValSize };
        var (plan, cell) = PlanFlags.Create();
        var command = new Command("detection", "Scan backdoored models of every attack: AUROC, TPR, FPR on held-out clean models, target, cost.")
            { output, models, attacks, seeds, calibration, heldOut, methods, backdoors, epochs, lr, collect, data, forget, val, plan, cell };
        command.SetAction(r =>
        {
            var o = new DetectionOptions(ModelFlag.Resolve(r.GetValue(models)!, stdout).Select(m => new ModelRef(CellPlan.ModelName(m), m)).ToList(),
                r.GetValue(attacks)!, r.GetValue(seeds)!, r.GetValue(calibration)!, ModelFlag.Resolve(r.GetValue(heldOut) ?? [], stdout),
                r.GetValue(output)!, r.GetValue(methods)!, r.GetValue(backdoors), AttackEpochs: r.GetValue(epochs), AttackLr: r.GetValue(lr),
                ForgetSize: r.GetValue(forget), ValSize: r.GetValue(val), CollectOnly: r.GetValue(collect), Data: r.GetValue(data)!);
            DetectionExperiment.Check(o);
            var cells = CellPlan.ForDetection(o, PlanFlags.OwnArgs(r), PlanFlags.OwnArgs(r, "--collect"));
            if (r.GetValue(plan) is { } planFile) return PlanFlags.Write(cells, planFile, stdout);
            if (r.GetValue(cell) is not int k) return Run(o, stdout);
            ProgressBar.Run(stdout, "detection", p => DetectionExperiment.Run(DetectionExperiment.Narrow(o, k), Writer(o), Output.Status(stdout), p));
            return PlanFlags.Done(k, cells.MergeArgs, stdout);
        });
        return command;
    }

    /// <summary>The scan folder `tbar scan` writes, inside the cell.</summary>
    static ScanWriter Writer(DetectionOptions o) => (dir, model, options, detection, data, pool, seconds) =>
        ScanReport.Write(dir, Environment.CommandLine, model, o.Data, options, detection, data.Train, pool, seconds);

    static int Run(DetectionOptions o, TextWriter stdout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (!o.CollectOnly)
        {
            Directory.CreateDirectory(o.Out);
            ProgressBar.Run(stdout, "detection", p => DetectionExperiment.Run(o, Writer(o), Output.Status(stdout), p));
        }
        stdout.WriteLine(DetectionTable.Write(o.Out, Environment.CommandLine, o, clock.Elapsed.TotalSeconds));
        return 0;
    }
}
