using System.CommandLine;
using Spectre.Console;
using Tbar.Io;
using Tbar.Pipelines;
using Tbar.Reporting;

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
        var models = Many("--models", "Clean models: mini-clip, rn18-clip or folders", ["mini-clip"]);
        var attacks = Many("--attacks", $"Attacks ({string.Join(", ", MainAttacks.Names)})", MainAttacks.Default);
        var methods = Many("--methods", "Unlearning methods (cleanclip runs on contrastive attacks only)", MainOptions.DefaultMethods);
        var seeds = new Option<long[]>("--seeds")
            { Description = "Seeds", DefaultValueFactory = _ => [0, 1, 2], AllowMultipleArgumentsPerToken = true };
        var retune = new Option<int[]>("--retune-k")
            { Description = "Poisoned samples of the re-tuning attack", DefaultValueFactory = _ => [10, 50], AllowMultipleArgumentsPerToken = true };
        var epochs = new Option<int?>("--attack-epochs") { Description = "Epochs of every attack and clean reference (default: the mode's recipe)" };
        var lr = new Option<double?>("--attack-lr") { Description = "Peak LR of every attack and clean reference (default: the mode's recipe)" };
        var collect = new Option<bool>("--collect") { Description = "Only gather the rows already finished under --out (compute nothing)" };
        var (file, floor) = MethodFlags.Create();
        var command = new Command("main", "Every attack × defence: CA per class, ASR, relapse and re-tuning ASR, mean ± std over seeds.")
            { output, models, attacks, methods, seeds, retune, epochs, lr, collect, file, floor };
        command.SetAction(r => Run(new MainOptions(r.GetValue(models)!.Select(m => new ModelRef(Name(m), m)).ToList(), r.GetValue(attacks)!,
            r.GetValue(seeds)!, r.GetValue(methods)!, r.GetValue(output)!, MethodFlags.Resolve(r.GetValue(file), r.GetValue(floor)),
            r.GetValue(retune)!, AttackEpochs: r.GetValue(epochs), AttackLr: r.GetValue(lr), CollectOnly: r.GetValue(collect)), stdout));
        return command;
    }

    static Option<string[]> Many(string name, string description, string[] defaults) =>
        new(name) { Description = description, DefaultValueFactory = _ => defaults, AllowMultipleArgumentsPerToken = true };

    /// <summary>The table name of a model folder: its last path part ("mini-clip", "rn18-clip").</summary>
    static string Name(string folder) => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)));

    static int Run(MainOptions o, TextWriter stdout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var console = Output.Console(stdout);
        Directory.CreateDirectory(o.Out);
        ProgressBar.Run(stdout, "main", p => MainExperiment.Run(o, s => console.MarkupLine($"[grey]{Markup.Escape(s)}[/]"), p));
        var rows = MainExperiment.Collect(o.Out);
        string table = MainTable.Markdown(rows);
        AtomicFile.WriteText(Path.Combine(o.Out, "table.md"), table);
        new RunRecord(Environment.CommandLine, o, 0, new MainResults(MainTable.Summary(rows), rows), clock.Elapsed.TotalSeconds)
            .Save(Path.Combine(o.Out, "results.json"));
        stdout.WriteLine(table);
        return 0;
    }
}
