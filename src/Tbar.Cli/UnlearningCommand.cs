using System.CommandLine;
using Tbar.Pipelines;
using Tbar.Reporting;
using Tbar.Unlearning;

namespace Tbar.Cli;

/// <summary>
/// <c>tbar experiment unlearning</c>: the demo for seeds 0..n−1, one folder per seed (a cell), and the table of mean ± std over
/// them; <c>tbar report unlearning</c> makes that table from the seed folders alone.
/// </summary>
static class UnlearningCommand
{
    public static Command Create(TextWriter stdout)
    {
        var seeds = new Option<int>("--seeds") { Description = "Number of seeds (0..n-1)", DefaultValueFactory = _ => 3 };
        var output = new Option<string>("--out") { Description = "Output folder", DefaultValueFactory = _ => "experiments/unlearning" };
        var data = new Option<string>("--data") { Description = "Data spec", DefaultValueFactory = _ => Defaults.Data };
        var forget = new Option<int>("--forget-size") { Description = "Forget-set size (also the clean budget)",
            DefaultValueFactory = _ => Defaults.ForgetSize };
        var val = new Option<int>("--val-size") { Description = "Validation size", DefaultValueFactory = _ => Defaults.ValSize };
        var epochs = new Option<int>("--attack-epochs") { Description = "Epochs of the attack and clean reference", DefaultValueFactory = _ => 3 };
        var methods = new Option<string[]>("--methods")
            { Description = $"Methods (default: {string.Join(" ", DemoOptions.DefaultMethods)})", AllowMultipleArgumentsPerToken = true };
        var (plan, cell) = PlanFlags.Create();
        var command = new Command("unlearning", "The demo for several seeds; mean ± std of CA, ASR and retention per method.")
            { seeds, output, data, forget, val, epochs, methods, plan, cell };
        command.SetAction(r =>
        {
            var demo = new DemoOptions(ModelNames.MiniClip, r.GetValue(data)!, ForgetSize: r.GetValue(forget), ValSize: r.GetValue(val),
                AttackEpochs: r.GetValue(epochs), Methods: r.GetValue(methods) is { Length: > 0 } m ? m : null,
                MethodSettings: Tbar.Unlearning.MethodOptions.Experiments);
            var o = new UnlearningOptions(demo, [.. Enumerable.Range(0, r.GetValue(seeds)).Select(s => (long)s)], r.GetValue(output)!);
            var cells = CellPlan.ForUnlearning(o, PlanFlags.OwnArgs(r));
            if (r.GetValue(plan) is { } planFile) return PlanFlags.Write(cells, planFile, stdout);
            if (r.GetValue(cell) is not int k) return Run(o, stdout);
            Compute(CellPlan.Narrow(o, k), stdout);
            return PlanFlags.Done(k, cells.MergeArgs, stdout);
        });
        return command;
    }

    /// <summary>`tbar report unlearning --in DIR`: table.md and results.json from every finished seed folder under DIR.</summary>
    public static Command Report(TextWriter stdout)
    {
        var input = new Option<string>("--in") { Description = "The experiment's output folder", Required = true };
        var command = new Command("unlearning", "Merge the seed folders of `tbar experiment unlearning` cells into table.md and results.json.")
            { input };
        command.SetAction(r =>
        {
            stdout.WriteLine(SeedTable.Save(r.GetValue(input)!, Environment.CommandLine, SeedTable.Collect(r.GetValue(input)!), 0));
            return 0;
        });
        return command;
    }

    /// <summary>Runs every seed of <paramref name="o"/> and writes its folder; returns the seeds' records.</summary>
    static List<DemoRecord> Compute(UnlearningOptions o, TextWriter stdout)
    {
        foreach (var m in o.Demo.MethodList) Tbar.Unlearning.Methods.Check(m);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var runs = new List<DemoRecord>();
        foreach (var seed in o.Seeds)
        {
            var result = ProgressBar.Run(stdout, $"seed {seed}", p => UnlearningExperiment.RunSeed(o, seed, p));
            DemoReport.Write(UnlearningExperiment.SeedDir(o.Out, seed), result, o.Demo with { Seed = seed }, Environment.CommandLine,
                clock.Elapsed.TotalSeconds);
            runs.Add(DemoReport.Results(result));
        }
        return runs;
    }

    static int Run(UnlearningOptions o, TextWriter stdout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var runs = Compute(o, stdout);
        stdout.WriteLine(SeedTable.Save(o.Out, Environment.CommandLine, runs, clock.Elapsed.TotalSeconds));
        return 0;
    }
}
