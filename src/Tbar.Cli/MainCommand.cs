using System.CommandLine;
using Spectre.Console;
using Tbar.Pipelines;
using Tbar.Reporting;
using Tbar.Unlearning;

namespace Tbar.Cli;

/// <summary>
/// <c>tbar experiment main</c>: the README's main table, models × attacks × seeds × methods, one folder per cell, resumable;
/// the table is made from every finished row under --out, so runs of different parts (or processes) merge.
/// </summary>
static class MainCommand
{
    public static Command Create(TextWriter stdout)
    {
        var output = new Option<string>("--out") { Description = "Output folder (resumable)", DefaultValueFactory = _ => "experiments/main" };
        var models = Output.Many("--models", "Clean models: mini-clip, rn18-clip or folders", ["mini-clip"]);
        var attacks = Output.Many("--attacks", $"Attacks ({string.Join(", ", MainAttacks.Names)})", MainAttacks.Default);
        var methods = Output.Many("--methods", "Unlearning methods (cleanclip runs on contrastive attacks only)", MainOptions.DefaultMethods);
        var seeds = new Option<long[]>("--seeds")
            { Description = "Seeds", DefaultValueFactory = _ => [0, 1, 2], AllowMultipleArgumentsPerToken = true };
        var retune = new Option<int[]>("--retune-k")
            { Description = "Poisoned samples of the re-tuning attack", DefaultValueFactory = _ => [10, 50], AllowMultipleArgumentsPerToken = true };
        var epochs = new Option<int?>("--attack-epochs") { Description = "Epochs of every attack and clean reference (default: the mode's recipe)" };
        var lr = new Option<double?>("--attack-lr") { Description = "Peak LR of every attack and clean reference (default: the mode's recipe)" };
        var collect = new Option<bool>("--collect") { Description = "Only gather the rows already finished under --out (compute nothing)" };
        var data = new Option<string>("--data") { Description = "Data spec", DefaultValueFactory = _ => Defaults.Data };
        var forget = new Option<int>("--forget-size") { Description = "Forget-set size (also the clean budget)",
            DefaultValueFactory = _ => Defaults.ForgetSize };
        var val = new Option<int>("--val-size") { Description = "Validation size", DefaultValueFactory = _ => Defaults.ValSize };
        var (plan, cell) = PlanFlags.Create();
        var (file, floor) = MethodFlags.Create();
        var command = new Command("main", "Every attack × defence: CA per class, ASR, relapse and re-tuning ASR, mean ± std over seeds.")
            { output, models, attacks, methods, seeds, retune, epochs, lr, collect, data, forget, val, plan, cell, file, floor };
        command.SetAction(r =>
        {
            var o = new MainOptions(ModelFlag.Resolve(r.GetValue(models)!, stdout).Select(m => new ModelRef(CellPlan.ModelName(m),
                m)).ToList(), r.GetValue(attacks)!,
                r.GetValue(seeds)!, r.GetValue(methods)!, r.GetValue(output)!,
                MethodFlags.Resolve(r.GetValue(file), r.GetValue(floor), MethodOptions.Experiments),
                r.GetValue(retune)!, ForgetSize: r.GetValue(forget), ValSize: r.GetValue(val), AttackEpochs: r.GetValue(epochs),
                AttackLr: r.GetValue(lr), CollectOnly: r.GetValue(collect), Data: r.GetValue(data)!);
            foreach (var a in o.Attacks) MainAttacks.Get(a);
            var cells = CellPlan.ForMain(o, PlanFlags.OwnArgs(r));
            if (r.GetValue(plan) is { } planFile) return PlanFlags.Write(cells, planFile, stdout);
            if (r.GetValue(cell) is not int k) return Run(o, stdout);
            ProgressBar.Run(stdout, "main", p => MainExperiment.Run(CellPlan.Narrow(o, k), Output.Status(stdout), p));
            return PlanFlags.Done(k, cells.MergeArgs, stdout);
        });
        return command;
    }

    /// <summary>`tbar report main --in DIR`: the table and results.json from every finished row under DIR.</summary>
    public static Command Report(TextWriter stdout)
    {
        var input = new Option<string>("--in") { Description = "The experiment's output folder", Required = true };
        var command = new Command("main", "Merge the rows of `tbar experiment main` cells (run anywhere) into table.md and results.json.") { input };
        command.SetAction(r => Write(r.GetValue(input)!, null, 0, stdout));
        return command;
    }

    static int Run(MainOptions o, TextWriter stdout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Directory.CreateDirectory(o.Out);
        ProgressBar.Run(stdout, "main", p => MainExperiment.Run(o, Output.Status(stdout), p));
        return Write(o.Out, o, clock.Elapsed.TotalSeconds, stdout);
    }

    static int Write(string outDir, MainOptions? o, double seconds, TextWriter stdout)
    {
        stdout.WriteLine(MainTable.Write(outDir, Environment.CommandLine, o, seconds));
        return 0;
    }
}
