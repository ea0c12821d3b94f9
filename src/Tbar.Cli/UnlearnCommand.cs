using System.CommandLine;
using Tbar.Io;
using Tbar.Models;
using Tbar.Pipelines;
using Tbar.Reporting;
using Tbar.Unlearning;

namespace Tbar.Cli;

/// <summary><c>tbar unlearn</c>: clean a model with a named method; write the model, τ, report.json, report.md and alpha.png.</summary>
static class UnlearnCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Option<string>("--model") { Description = "Backdoored model folder or .safetensors file", Required = true };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Folder with vocab.json + merges.txt (open_clip models)" };
        var forget = new Option<string>("--forget") { Description = "trigger:SPEC (known trigger on clean images), inverted:DIR (from `tbar scan`) or images:DIR (triggered images)", Required = true };
        var target = new Option<string?>("--target")
        {
            Description = "Target class of the backdoor (default with inverted:DIR: the scan's inferred target)",
        };
        var data = new DataFlag("Data spec of the defender's clean images (its training indices)", "--val");
        var method = new Option<string>("--method")
        {
            Description = $"One of: {string.Join(", ", Methods.Names)}, tbar:ESTIMATOR, a TBAR method followed by +relabel " +
                "or +pam[:SHARE] (path-aware relabelling), or auto (try the candidates, keep the best durable one)",
            DefaultValueFactory = _ => "tbar",
        };
        var candidates = new Option<string?>("--candidates")
        {
            Description = $"With --method auto: comma-separated candidates (default {string.Join(",", Pipelines.AutoMethod.DefaultCandidates)})",
        };
        var forgetSize = new Option<int>("--forget-size") { Description = "Forget-set size", DefaultValueFactory = _ => Defaults.ForgetSize };
        var valSize = new Option<int>("--val-size") { Description = "Validation size", DefaultValueFactory = _ => Defaults.ValSize };
        var seed = new Option<long>("--seed") { Description = "Seed", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "Output folder", Required = true };
        var (optionsFile, caFloor) = MethodFlags.Create();
        var command = new Command("unlearn", "Remove a backdoor: TBAR or a baseline, α chosen on validation.")
            { model, tokenizer, forget, target, method, candidates, forgetSize, valSize, seed, output, optionsFile, caFloor };
        foreach (var o in data.Options) command.Add(o);
        command.SetAction(r => Run(ModelFlag.Resolve(r.GetValue(model)!, stdout), r.GetValue(tokenizer), r.GetValue(forget)!, r.GetValue(target),
            data.Value(r), r.GetValue(method)!,
            r.GetValue(candidates)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
            r.GetValue(forgetSize), r.GetValue(valSize), r.GetValue(seed), r.GetValue(output)!,
            MethodFlags.Resolve(r.GetValue(optionsFile), r.GetValue(caFloor)), stdout));
        return command;
    }

    static int Run(string modelPath, string? tokenizerDir, string forget, string? targetGiven, string valSpec, string method, string[]? candidates,
        int forgetSize, int valSize, long seed, string outDir, MethodOptions options, TextWriter stdout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        bool auto = method == "auto";
        if (!auto) Methods.Check(method);
        if (candidates != null && !auto) throw new TbarException("--candidates goes with --method auto");
        if (forgetSize < 1) throw new TbarException("--forget-size must be ≥ 1: the forget set is empty");
        var source = ForgetSource.Parse(forget);
        string?[] inputs = [modelPath, tokenizerDir, source.Kind == "trigger" ? null : source.Argument];
        AtomicFolder.Check(outDir, "report.json", inputs);
        // The cleaned model and τ (at most the model's size again), written after the whole computation.
        AtomicFolder.RequireRoom(outDir, 2 * new FileInfo(ClipCheckpoint.Resolve(modelPath).Weights).Length);
        string target = source.Target(targetGiven);
        using var bench = Workbench.Open(modelPath, tokenizerDir, valSpec);
        var (clip, head, data) = (bench.Model, bench.Head, bench.Data);
        using var text = ParkedText.Park(clip);   // the head holds the class embeddings; the text tower waits on disk
        var task = source.Task(data.Train, data.TrainIndices, data.Train.ClassIndex(target), forgetSize, valSize, seed,
            clip.Config.Vision.ImageSize);
        stdout.WriteLine(RunProbe.Estimate(clip, head, task, options,
            auto ? AutoMethod.Work(candidates, task, options) : Methods.Work(method, task, options)).Summary);
        Pipelines.AutoChoice? choice = null;
        UnlearnResult record;
        if (auto)
        {
            var heldOut = task.HeldOut(data.TrainIndices, Pipelines.AutoMethod.DurabilitySize, seed + 2);
            var (c, chosen) = ProgressBar.Run(stdout, method, p => Pipelines.AutoMethod.Run(clip, head, task, heldOut, candidates, options,
                s => stdout.WriteLine(s), p));
            stdout.WriteLine(c.Reason);
            choice = c;
            record = chosen ?? throw new TbarException("--method auto: no candidate removed the backdoor on validation; nothing was written " +
                "(the candidates' numbers are above)");
        }
        else record = ProgressBar.Run(stdout, method, p => Methods.Run(method, clip, head, task, options, p));
        var settings = new UnlearnSettings(modelPath, forget, target, valSpec, auto ? $"auto:{record.Method}" : method, forgetSize, valSize,
            options.ToJson());
        text.Restore();
        UnlearnReport.Write(outDir, clip, Environment.CommandLine, settings, source.Spec, seed, record, clock.Elapsed.TotalSeconds, choice, inputs);
        stdout.WriteLine($"{record.Method}: {record.Choice}");
        stdout.WriteLine($"validation CA {record.Validation.CleanAccuracy}, ASR {record.Validation.AttackSuccess}; wrote {outDir}");
        return 0;
    }
}
