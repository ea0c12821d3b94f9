using System.CommandLine;
using Spectre.Console;
using Tbar.Evaluation;
using Tbar.Io;
using Tbar.Pipelines;
using Tbar.Reporting;
using Tbar.Unlearning;

namespace Tbar.Cli;

/// <summary>
/// <c>tbar experiment compose</c>: two backdoors in one model, removed by one trigger vector each, negated together with one
/// α, each with its own α, or one after the other. One folder per seed (a cell); --collect makes the table from finished ones.
/// </summary>
static class ComposeCommand
{
    public static Command Create(TextWriter stdout)
    {
        var output = new Option<string>("--out") { Description = "Output folder (resumable)", DefaultValueFactory = _ => "experiments/compose" };
        var backdoors = new Option<string[]>("--backdoors")
        {
            Description = "Backdoors as TRIGGER@TARGET, planted together",
            DefaultValueFactory = _ => ["badnet:size=3@Bag", "blended:ratio=0.2@Sneaker"],
            AllowMultipleArgumentsPerToken = true,
        };
        var seeds = new Option<long[]>("--seeds")
            { Description = "Seeds", DefaultValueFactory = _ => [0, 1, 2], AllowMultipleArgumentsPerToken = true };
        var variants = new Option<string[]>("--variants")
        {
            Description = "τ variants (see experiment arithmetic)", DefaultValueFactory = _ => ["plain", "emb-3"],
            AllowMultipleArgumentsPerToken = true,
        };
        var model = new Option<string>("--model") { Description = "Clean model to backdoor", DefaultValueFactory = _ => ModelNames.MiniClip };
        var floor = new Option<double>("--ca-floor") { Description = "CA floor of the α rule", DefaultValueFactory = _ => 0.75 };
        var data = new Option<string>("--data") { Description = "Data spec", DefaultValueFactory = _ => Defaults.Data };
        var forget = new Option<int>("--forget-size") { Description = "Forget-set size of each backdoor",
            DefaultValueFactory = _ => Defaults.ForgetSize };
        var val = new Option<int>("--val-size") { Description = "Validation size", DefaultValueFactory = _ => Defaults.ValSize };
        var collect = new Option<bool>("--collect") { Description = "Only gather the seeds already finished under --out (compute nothing)" };
        var (plan, cell) = PlanFlags.Create();
        var command = new Command("compose", "Two backdoors at once: joint, separate and sequential negation, mean ± std over seeds.")
            { output, backdoors, seeds, variants, model, floor, data, forget, val, collect, plan, cell };
        command.SetAction(r =>
        {
            var o = new ComposeOptions(ModelFlag.Resolve(r.GetValue(model)!, stdout), r.GetValue(backdoors)!.Select(Parse).ToList(),
                r.GetValue(seeds)!,
                r.GetValue(variants)!, r.GetValue(output)!, new AlphaRule(CaFloor: r.GetValue(floor), MaxAlpha: 64, ValleySteps: 6),
                ForgetSize: r.GetValue(forget), ValSize: r.GetValue(val), Data: r.GetValue(data)!, CollectOnly: r.GetValue(collect));
            var cells = CellPlan.ForCompose(o, PlanFlags.OwnArgs(r), PlanFlags.OwnArgs(r, "--collect"));
            if (r.GetValue(plan) is { } planFile) return PlanFlags.Write(cells, planFile, stdout);
            if (r.GetValue(cell) is not int k) return Run(o, stdout);
            Compute(CellPlan.Narrow(o, k), stdout);
            return PlanFlags.Done(k, cells.MergeArgs, stdout);
        });
        return command;
    }

    static BackdoorSpec Parse(string spec)
    {
        int at = spec.LastIndexOf('@');
        if (at <= 0 || at == spec.Length - 1) throw new TbarException($"--backdoors: '{spec}' is not TRIGGER@TARGET (e.g. badnet:size=3@Bag)");
        return new BackdoorSpec(spec[..at], spec[(at + 1)..]);
    }

    static List<ComposeResult> Compute(ComposeOptions o, TextWriter stdout)
    {
        var console = Output.Console(stdout);
        if (!o.CollectOnly) Directory.CreateDirectory(o.Out);
        return ProgressBar.Run(stdout, "compose", p => ComposeExperiment.Run(o, s => console.MarkupLine($"[grey]{Markup.Escape(s)}[/]"), p));
    }

    static int Run(ComposeOptions o, TextWriter stdout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var results = Compute(o, stdout);
        if (results.Count == 0) throw new TbarException($"{o.Out}: no finished seeds of `tbar experiment compose` with these settings");
        string table = ComposeTable.Markdown(results, o.Backdoors.Select(b => $"{b.Trigger.Split(':')[0]}→{b.Target}").ToList());
        AtomicFile.WriteText(Path.Combine(o.Out, "table.md"), table);
        new RunRecord(Environment.CommandLine, o, 0, results, clock.Elapsed.TotalSeconds).Save(Path.Combine(o.Out, "results.json"));
        stdout.WriteLine(table);
        return 0;
    }
}
