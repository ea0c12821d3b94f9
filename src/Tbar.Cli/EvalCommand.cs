using System.CommandLine;
using Spectre.Console;
using Tbar.Attacks;
using Tbar.Evaluation;
using Tbar.Pipelines;
using Tbar.Unlearning;

namespace Tbar.Cli;

/// <summary><c>tbar eval</c>: clean accuracy on a test split, and ASR/BD-ACC when a trigger and target are given.</summary>
static class EvalCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Option<string>("--model") { Description = "Model folder or .safetensors file",
            DefaultValueFactory = _ => ModelNames.MiniClip };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Folder with vocab.json + merges.txt (open_clip models)" };
        var data = new Option<string>("--data") { Description = "Data spec (its test split is evaluated)", DefaultValueFactory = _ => Defaults.Data };
        var trigger = new Option<string?>("--trigger") { Description = "Trigger spec (with --target: also ASR and BD-ACC)" };
        var target = new Option<string?>("--target") { Description = "Target class (name or index)" };
        var json = new Option<string?>("--json") { Description = "Write the metrics to this JSON file" };
        var command = new Command("eval", "Evaluate CA (and ASR, BD-ACC) of a model on a test split.") { model, tokenizer, data, trigger,
            target, json };
        command.SetAction(r => Run(ModelFlag.Resolve(r.GetValue(model)!, stdout), r.GetValue(tokenizer), r.GetValue(data)!,
            r.GetValue(trigger), r.GetValue(target),
            r.GetValue(json), stdout));
        return command;
    }

    static int Run(string modelPath, string? tokenizerDir, string dataSpec, string? triggerSpec, string? target, string? json, TextWriter stdout)
    {
        if ((triggerSpec == null) != (target == null)) throw new TbarException("--trigger and --target go together");
        using var bench = Workbench.Open(modelPath, tokenizerDir, dataSpec, testClasses: true);
        var test = bench.Data.Test;
        var trigger = triggerSpec != null ? Triggers.Parse(triggerSpec) : null;
        int targetIndex = target != null ? test.ClassIndex(target) : -1;
        var metrics = Metrics.Evaluate(bench.Model, bench.Head, test, test.AllIndices(), trigger, targetIndex);
        var table = new Table().AddColumns("metric", "value");
        table.AddRow("CA", metrics.CleanAccuracy.ToString());
        if (metrics.AttackSuccess != null) table.AddRow("ASR", metrics.AttackSuccess.ToString());
        if (metrics.BackdoorAccuracy != null) table.AddRow("BD-ACC", metrics.BackdoorAccuracy.ToString());
        Output.Console(stdout).Write(table);
        if (json != null) new EvalRecord(modelPath, dataSpec, trigger?.Spec, targetIndex, MetricsRecord.From(metrics)).Save(json);
        return 0;
    }
}
