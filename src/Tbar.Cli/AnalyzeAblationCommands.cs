using System.CommandLine;
using Tbar.Analysis;
using Tbar.Pipelines;
using Tbar.Reporting;
using Tbar.Unlearning;

namespace Tbar.Cli;

/// <summary><c>tbar analyze forget-size|transfer</c>: the two analyses that re-run TBAR (and, for transfer, the attack).</summary>
static partial class AnalyzeCommand
{
    static Command ForgetSize(TextWriter stdout)
    {
        var unlearned = UnlearnedOption();
        var data = DataOption();
        var sizes = new Option<int[]>("--sizes")
        {
            Description = "Forget-set sizes",
            DefaultValueFactory = _ => [100, 250, 500, 1000, 2000, 4000],
            AllowMultipleArgumentsPerToken = true,
        };
        var method = new Option<string>("--rule") { Description = "tbar (90% CA floor) or tbar-floor75", DefaultValueFactory = _ => "tbar-floor75" };
        var seed = new Option<long>("--seed") { Description = "Seed", DefaultValueFactory = _ => 0 };
        var output = OutOption();
        var command = new Command("forget-size", "TBAR with forget sets of several sizes: test CA/ASR/seconds.")
            { unlearned, data, sizes, method, seed, output };
        command.SetAction(r =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var run = UnlearnedRun.Read(r.GetValue(unlearned)!);
            string rule = r.GetValue(method)!;
            var options = rule switch
            {
                "tbar" => TbarOptions.Default,
                "tbar-floor75" => TbarOptions.Floor75,
                var other => throw new TbarException($"--rule '{other}': expected tbar or tbar-floor75"),
            };
            var list = r.GetValue(sizes)!;
            var points = Ablations.ForgetSizes(run, r.GetValue(data)!, list, Defaults.ValSize, options, r.GetValue(seed), Output.Status(stdout));
            var settings = new ForgetSizeSettings(r.GetValue(unlearned)!, list, rule);
            stdout.Write(AnalysisReport.ForgetSize(r.GetValue(output)!, Environment.CommandLine, settings, run, points, r.GetValue(seed),
                clock.Elapsed.TotalSeconds));
            return 0;
        });
        return command;
    }

    static Command Transfer(TextWriter stdout)
    {
        var pretrained = PretrainedOption();
        var trigger = new Option<string>("--trigger") { Description = "Trigger spec", DefaultValueFactory = _ => "badnet:size=3" };
        var target = new Option<string>("--target") { Description = "Target class (in both subsets)", DefaultValueFactory = _ => "Bag" };
        var classesA = new Option<string[]>("--classes-a")
        {
            Description = "Classes of dataset A",
            DefaultValueFactory = _ => ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Bag"],
            AllowMultipleArgumentsPerToken = true,
        };
        var classesB = new Option<string[]>("--classes-b")
        {
            Description = "Classes of dataset B",
            DefaultValueFactory = _ => ["Sandal", "Shirt", "Sneaker", "Ankle boot", "Bag"],
            AllowMultipleArgumentsPerToken = true,
        };
        var seed = new Option<long>("--seed") { Description = "Seed", DefaultValueFactory = _ => 0 };
        var output = OutOption();
        var command = new Command("transfer", "Apply a trigger vector estimated on one class subset to a model backdoored on another.")
            { pretrained, trigger, target, classesA, classesB, seed, output };
        command.SetAction(r =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var asTyped = new TransferSettings(r.GetValue(trigger)!, r.GetValue(target)!, r.GetValue(classesA)!, r.GetValue(classesB)!);
            var (settings, result) = ProgressBar.Run(stdout, "transfer", p => Ablations.Transfer(ModelFlag.Resolve(r.GetValue(pretrained)!,
                stdout), asTyped, Defaults.ForgetSize, Defaults.ValSize,
                TbarOptions.Floor75, r.GetValue(seed), Output.Status(stdout), p));
            stdout.Write(AnalysisReport.Transfer(r.GetValue(output)!, Environment.CommandLine, settings, result, r.GetValue(seed),
                clock.Elapsed.TotalSeconds));
            return 0;
        });
        return command;
    }

}
