using System.CommandLine;
using Spectre.Console;
using Tbar.Evaluation;
using Tbar.Io;
using Tbar.Pipelines;
using Tbar.Reporting;

namespace Tbar.Cli;

/// <summary>
/// <c>tbar experiment compose</c>: two backdoors in one model, removed by one trigger vector each, negated together with one
/// α, each with its own α, or one after the other.
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
        var model = new Option<string>("--model") { Description = "Clean model to backdoor", DefaultValueFactory = _ => Defaults.MiniClip };
        var floor = new Option<double>("--ca-floor") { Description = "CA floor of the α rule", DefaultValueFactory = _ => 0.75 };
        var command = new Command("compose", "Two backdoors at once: joint, separate and sequential negation, mean ± std over seeds.")
            { output, backdoors, seeds, variants, model, floor };
        command.SetAction(r => Run(new ComposeOptions(r.GetValue(model)!, r.GetValue(backdoors)!.Select(Parse).ToList(), r.GetValue(seeds)!,
            r.GetValue(variants)!, r.GetValue(output)!, new AlphaRule(CaFloor: r.GetValue(floor), MaxAlpha: 64, ValleySteps: 6)), stdout));
        return command;
    }

    static BackdoorSpec Parse(string spec)
    {
        int at = spec.LastIndexOf('@');
        if (at <= 0 || at == spec.Length - 1) throw new TbarException($"--backdoors: '{spec}' is not TRIGGER@TARGET (e.g. badnet:size=3@Bag)");
        return new BackdoorSpec(spec[..at], spec[(at + 1)..]);
    }

    static int Run(ComposeOptions o, TextWriter stdout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var console = Output.Console(stdout);
        Directory.CreateDirectory(o.Out);
        var results = ProgressBar.Run(stdout, "compose", p => ComposeExperiment.Run(o, s => console.MarkupLine($"[grey]{Markup.Escape(s)}[/]"), p));
        string table = ComposeTable.Markdown(results, o.Backdoors.Select(b => $"{b.Trigger.Split(':')[0]}→{b.Target}").ToList());
        AtomicFile.WriteText(Path.Combine(o.Out, "table.md"), table);
        new RunRecord(Environment.CommandLine, o, 0, results, clock.Elapsed.TotalSeconds).Save(Path.Combine(o.Out, "results.json"));
        stdout.WriteLine(table);
        return 0;
    }
}
