using System.Diagnostics;
using Tbar.Attacks;
using Tbar.Data;
using Tbar.Evaluation;
using Tbar.Models;
using static TorchSharp.torch;

namespace Tbar.Pipelines;

/// <summary>One row of the attack table: how the model was made, the trigger tested, test metrics and training seconds.</summary>
public sealed record AttackRow(string Setting, string Trigger, AttackMetrics Metrics, double Seconds);

/// <summary>The attack table's rows, and each optimised patch by trigger name (saved beside the table for people to look at).</summary>
public sealed record AttackExperimentResult(IReadOnlyList<AttackRow> Rows, IReadOnlyDictionary<string, Tensor> Patches);

/// <summary>
/// The README's attack table on the mini-CLIP: the pretrained model, a clean fine-tune with the attack recipe, each
/// trigger in supervised mode and BadNet in contrastive mode (each attack row preceded by the pretrained model under it).
/// </summary>
public static class AttackExperiment
{
    public static readonly string[] SupervisedTriggers =
        ["badnet:size=3", "blended:ratio=0.2", "wanet:k=4,s=6", "sig:amp=0.0784,freq=6", "badclip:size=4,steps=100"];

    /// <summary>
    /// Runs every row on <paramref name="data"/>; a BadCLIP patch is recorded as <c>&lt;patchDir&gt;/badclip/patch.png</c>
    /// in its spec, and returned for the caller to save there.
    /// </summary>
    public static AttackExperimentResult Run(string model, DataSplits data, string target, double rate, long seed, string patchDir,
        Action<string>? status = null, IProgress<TrainProgress>? progress = null)
    {
        var patches = new Dictionary<string, Tensor>();
        var rows = new List<AttackRow> { Pretrained(model, data) };
        status?.Invoke("clean fine-tune");
        rows.Add(Clean(model, data, seed, progress));
        foreach (var trigger in SupervisedTriggers)
            rows.AddRange(Attack(model, data, trigger, target, rate, AttackMode.Supervised, seed, patchDir, patches, status, progress));
        rows.AddRange(Attack(model, data, "badnet:size=3", target, rate, AttackMode.Contrastive, seed, patchDir, patches, status, progress));
        return new AttackExperimentResult(rows, patches);
    }

    static AttackRow Pretrained(string model, DataSplits data)
    {
        using var clip = ClipCheckpoint.Load(model);
        using var head = ZeroShotHead.ForClasses(clip, Tokenizers.For(clip, null), data.Test.ClassNames);
        var clock = Stopwatch.StartNew();
        var m = Metrics.Evaluate(clip, head, data.Test, data.Test.AllIndices());
        return new AttackRow("pretrained", "-", m, clock.Elapsed.TotalSeconds);
    }

    static AttackRow Clean(string model, DataSplits data, long seed, IProgress<TrainProgress>? progress)
    {
        using var clip = ClipCheckpoint.Load(model);
        var tokenizer = Tokenizers.For(clip, null);
        var options = new AttackOptions("", "0", 0, AttackMode.Supervised, BackdoorAttack.DefaultTrain(AttackMode.Supervised), seed);
        var training = BackdoorAttack.TrainClean(clip, tokenizer, data.Train, data.TrainIndices, options, progress);
        using var head = ZeroShotHead.ForClasses(clip, tokenizer, data.Test.ClassNames);
        return new AttackRow("clean fine-tune (supervised)", "-", Metrics.Evaluate(clip, head, data.Test, data.Test.AllIndices()), training.Seconds);
    }

    static AttackRow[] Attack(string model, DataSplits data, string trigger, string target, double rate, AttackMode mode, long seed,
        string patchDir, Dictionary<string, Tensor> patches, Action<string>? status, IProgress<TrainProgress>? progress)
    {
        status?.Invoke($"{mode} {trigger}");
        using var clip = ClipCheckpoint.Load(model);
        var tokenizer = Tokenizers.For(clip, null);
        var options = new AttackOptions(trigger, target, rate, mode, BackdoorAttack.DefaultTrain(mode), seed);
        string name = TriggerSpec.Parse(trigger).Name;
        using var pristine = ClipCheckpoint.Load(model);
        var outcome = BackdoorAttack.Run(clip, tokenizer, data.Train, data.TrainIndices, data.Test, options,
            Path.Combine(patchDir, name, "patch.png"), progress);
        if (outcome.Patch is { } patch) patches[name] = patch;
        using var head = ZeroShotHead.ForClasses(pristine, tokenizer, data.Test.ClassNames);
        var before = Metrics.Evaluate(pristine, head, data.Test, data.Test.AllIndices(), outcome.Trigger, outcome.Target);
        string setting = mode == AttackMode.Supervised ? "supervised" : "contrastive";
        return [new($"pretrained, {setting} trigger", outcome.TriggerSpec, before, 0),
            new($"backdoored ({setting})", outcome.TriggerSpec, outcome.Test, outcome.Training.Seconds)];
    }
}
