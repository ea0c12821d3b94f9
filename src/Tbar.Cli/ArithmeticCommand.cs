using System.CommandLine;
using Spectre.Console;
using Tbar.Evaluation;
using Tbar.Pipelines;
using Tbar.Reporting;
using Tbar.Unlearning;

namespace Tbar.Cli;

/// <summary>
/// <c>tbar experiment arithmetic</c>: the README's τ-estimator table. Each (trigger, seed) backdoors the mini-CLIP once;
/// each variant estimates τ, α is chosen on validation by one rule, and the test split gives CA per class, ASR and relapse.
/// </summary>
static class ArithmeticCommand
{
    public static Command Create(TextWriter stdout)
    {
        var output = new Option<string>("--out")
            { Description = "Output folder (resumable: finished cells are skipped)", DefaultValueFactory = _ => "experiments/arithmetic" };
        var seeds = new Option<long[]>("--seeds")
            { Description = "Seeds", DefaultValueFactory = _ => [0, 1, 2], AllowMultipleArgumentsPerToken = true };
        var attacks = new Option<string[]>("--attacks")
        {
            Description = "Trigger specs", DefaultValueFactory = _ => ["badnet:size=3", "blended:ratio=0.2"], AllowMultipleArgumentsPerToken = true,
        };
        var variants = new Option<string[]>("--variants")
        {
            Description = $"τ variants ({string.Join(", ", ArithmeticVariants.Names)})",
            DefaultValueFactory = _ => ArithmeticVariants.Names.ToArray(),
            AllowMultipleArgumentsPerToken = true,
        };
        var floor = new Option<double>("--ca-floor")
            { Description = "CA floor of the α rule, as a share of the backdoored validation CA", DefaultValueFactory = _ => 0.75 };
        var model = new Option<string>("--model") { Description = "Clean model to backdoor", DefaultValueFactory = _ => ModelNames.MiniClip };
        var collect = new Option<bool>("--collect") { Description = "Only gather the variants already finished under --out (compute nothing)" };
        var data = new Option<string>("--data") { Description = "Data spec", DefaultValueFactory = _ => Defaults.Data };
        var forget = new Option<int>("--forget-size") { Description = "Forget-set size (also the clean budget)",
            DefaultValueFactory = _ => Defaults.ForgetSize };
        var val = new Option<int>("--val-size") { Description = "Validation size", DefaultValueFactory = _ => Defaults.ValSize };
        var (plan, cell) = PlanFlags.Create();
        var command = new Command("arithmetic", "Compare trigger-vector estimators: per-class CA, ASR, α and relapse over seeds.")
            { output, seeds, attacks, variants, floor, model, collect, data, forget, val, plan, cell };
        command.SetAction(r =>
        {
            var o = new ArithmeticOptions(ModelFlag.Resolve(r.GetValue(model)!, stdout), r.GetValue(attacks)!, r.GetValue(seeds)!,
                r.GetValue(variants)!,
                r.GetValue(output)!, new AlphaRule(CaFloor: r.GetValue(floor), MaxAlpha: 64, ValleySteps: 6), CollectOnly: r.GetValue(collect),
                ForgetSize: r.GetValue(forget), ValSize: r.GetValue(val), Data: r.GetValue(data)!);
            var cells = CellPlan.ForArithmetic(o, PlanFlags.OwnArgs(r), PlanFlags.OwnArgs(r, "--collect"));
            if (r.GetValue(plan) is { } planFile) return PlanFlags.Write(cells, planFile, stdout);
            if (r.GetValue(cell) is not int k) return Run(o, stdout);
            Compute(CellPlan.Narrow(o, k), stdout);
            return PlanFlags.Done(k, cells.MergeArgs, stdout);
        });
        return command;
    }

    static List<VariantResult> Compute(ArithmeticOptions o, TextWriter stdout)
    {
        var console = Output.Console(stdout);
        if (!o.CollectOnly) Directory.CreateDirectory(o.Out);
        return ProgressBar.Run(stdout, "arithmetic", p => ArithmeticExperiment.Run(o, s => console.MarkupLine($"[grey]{Markup.Escape(s)}[/]"), p));
    }

    static int Run(ArithmeticOptions o, TextWriter stdout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var results = Compute(o, stdout);
        if (results.Count == 0) throw new TbarException($"{o.Out}: no finished cells of `tbar experiment arithmetic` with these settings");
        stdout.WriteLine(ArithmeticTable.Save(o, Environment.CommandLine, results, clock.Elapsed.TotalSeconds));
        return 0;
    }
}
