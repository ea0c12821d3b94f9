using System.CommandLine;
using Spectre.Console;
using Tbar.Unlearning;
using Tbar.Pipelines;
using Tbar.Reporting;

namespace Tbar.Cli;

/// <summary>
/// <c>tbar experiment attacks</c>: the README's attack table. On the mini-CLIP (half B, one poison rate), each trigger in
/// supervised mode, BadNet in contrastive mode, a clean fine-tune with the same recipe, and the pretrained model.
/// </summary>
static class ExperimentCommand
{
    public static Command Create(TextWriter stdout)
    {
        var output = new Option<string>("--out") { Description = "Output folder", DefaultValueFactory = _ => "experiments/attacks" };
        var target = new Option<string>("--target") { Description = "Target class", DefaultValueFactory = _ => "Bag" };
        var rate = new Option<double>("--poison-rate") { Description = "Poisoned share", DefaultValueFactory = _ => Defaults.PoisonRate };
        var seed = new Option<long>("--seed") { Description = "Seed", DefaultValueFactory = _ => 0 };
        var attacks = new Command("attacks", "Backdoor the mini-CLIP with every trigger; write results.json and table.md.")
            { output, target, rate, seed };
        attacks.SetAction(r => RunAttacks(r.GetValue(output)!, r.GetValue(target)!, r.GetValue(rate), r.GetValue(seed), stdout));
        return new Command("experiment", "Reproduce a README table.")
        {
            attacks, UnlearningCommand.Create(stdout), AgnosticCommand.Create(stdout), ArithmeticCommand.Create(stdout),
            MainCommand.Create(stdout), ComposeCommand.Create(stdout), DetectionCommand.Create(stdout),
        };
    }

    static int RunAttacks(string outDir, string target, double rate, long seed, TextWriter stdout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var console = Output.Console(stdout);
        string model = ModelNames.MiniClip;
        Directory.CreateDirectory(outDir);
        using var data = Workbench.LoadData(Defaults.Data, 28);
        var result = ProgressBar.Run(stdout, "attacks",
            p => AttackExperiment.Run(model, data, target, rate, seed, outDir, s => console.MarkupLine($"[grey]{Markup.Escape(s)}[/]"), p));
        stdout.WriteLine(AttackTable.Save(outDir, Environment.CommandLine, new AttackTableSettings(target, rate, model), seed, result,
            clock.Elapsed.TotalSeconds));
        return 0;
    }
}
