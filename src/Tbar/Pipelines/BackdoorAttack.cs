using Tbar.Attacks;
using Tbar.Data;
using Tbar.Evaluation;
using Tbar.Models;
using Tbar.Training;
using static TorchSharp.torch;

namespace Tbar.Pipelines;

/// <summary>How the backdoor is planted.</summary>
public enum AttackMode
{
    /// <summary>Fine-tune the image tower against the frozen zero-shot head (the task-arithmetic setting).</summary>
    Supervised,
    /// <summary>Contrastive training of both towers on image–caption pairs; poisoned pairs get a caption naming the target.</summary>
    Contrastive,
}

/// <summary>An attack's settings.</summary>
/// <param name="Trigger">Trigger spec, e.g. "badnet:size=3" or "badclip:size=4,steps=200".</param>
/// <param name="Target">Target class, by name or index.</param>
/// <param name="PoisonRate">Share of the training set poisoned, in (0, 1], e.g. 0.03.</param>
/// <param name="Mode">Supervised or contrastive.</param>
/// <param name="Train">Training recipe (the same recipe trains the clean reference).</param>
/// <param name="Seed">Seed of poisoned-index choice, caption sampling and patch optimisation.</param>
public sealed record AttackOptions(string Trigger, string Target, double PoisonRate, AttackMode Mode, TrainOptions Train, long Seed = 0);

/// <summary>What an attack did and how well it worked on the test split.</summary>
/// <param name="TriggerSpec">The planted trigger's spec.</param>
/// <param name="Target">Target class index.</param>
/// <param name="TargetName">Target class name.</param>
/// <param name="Poisoned">The poisoned training indices, drawn once from the seed.</param>
/// <param name="TrainCount">Training images used.</param>
/// <param name="Test">CA, ASR and BD-ACC on the test split.</param>
/// <param name="Training">The training run's record.</param>
/// <param name="Trigger">The trigger as planted (for BadCLIP, the optimised patch held in memory).</param>
/// <param name="Patch">BadCLIP's optimised (3, S, S) patch in [0,1], for the caller to save beside the run; null otherwise.</param>
public sealed record AttackOutcome(string TriggerSpec, int Target, string TargetName, PoisonPlan Poisoned, int TrainCount,
    AttackMetrics Test, TrainResult Training, ITrigger Trigger, Tensor? Patch)
{
    /// <summary>How many training images carried the trigger.</summary>
    public int PoisonedCount => Poisoned.Indices.Length;
}

/// <summary>Plants a backdoor by training on a poisoned copy of the training indices, then measures CA/ASR/BD-ACC.</summary>
public static class BackdoorAttack
{
    /// <summary>Default recipes on the mini-CLIP (see the README table for what they achieve).</summary>
    public static TrainOptions DefaultTrain(AttackMode mode) => mode == AttackMode.Supervised
        ? new TrainOptions(Epochs: 3, BatchSize: 128, LearningRate: 5e-4, WeightDecay: 0.1)
        : new TrainOptions(Epochs: 2, BatchSize: 256, LearningRate: 5e-4, WeightDecay: 0.1);

    /// <summary>
    /// Trains <paramref name="model"/> in place. A "badclip" trigger is first optimised against the model, kept in memory
    /// as a BadNet patch (8-bit, as a PNG would store it) and returned for the caller to save at <paramref name="patchPath"/>,
    /// the path its spec records. Nothing is written to disk here.
    /// </summary>
    public static AttackOutcome Run(Clip model, ClipTokenizer tokenizer, ImageDataset train, long[] trainIndices, ImageDataset test,
        AttackOptions o, string? patchPath, IProgress<TrainProgress>? progress = null)
    {
        int target = train.ClassIndex(o.Target);
        var (trigger, patch) = Resolve(o, model, tokenizer, train, trainIndices, target, patchPath ?? "patch.png");
        CheckFits(trigger, train);
        var plan = PoisonPlan.Draw(trainIndices, train.Labels, target, o.PoisonRate, o.Seed);
        var training = Train(model, tokenizer, train, trainIndices, o, [new Backdoor(trigger, plan.AsSet(), target)], progress);
        using var head = ZeroShotHead.ForClasses(model, tokenizer, train.ClassNames);
        var metrics = Metrics.Evaluate(model, head, test, test.AllIndices(), trigger, target);
        return new AttackOutcome(trigger.Spec, target, train.ClassNames[target], plan, trainIndices.Length, metrics, training, trigger, patch);
    }

    /// <summary>The clean reference: the same recipe without poison.</summary>
    public static TrainResult TrainClean(Clip model, ClipTokenizer tokenizer, ImageDataset train, long[] trainIndices, AttackOptions o,
        IProgress<TrainProgress>? progress = null) =>
        Train(model, tokenizer, train, trainIndices, o, [], progress);

    /// <summary>
    /// Plants several backdoors in one training run by <paramref name="o"/>'s recipe and mode (its trigger and target are
    /// unused): backdoor k's poisoned set is drawn with seed o.Seed + k, at o.PoisonRate, from images no earlier backdoor
    /// poisoned. Returns each backdoor's plan and the training record.
    /// </summary>
    public static (IReadOnlyList<PoisonPlan> Plans, TrainResult Training) RunMany(Clip model, ClipTokenizer tokenizer, ImageDataset train,
        long[] trainIndices, IReadOnlyList<(ITrigger Trigger, int Target)> backdoors, AttackOptions o, IProgress<TrainProgress>? progress = null)
    {
        var plans = new List<PoisonPlan>();
        var taken = new HashSet<long>();
        for (int k = 0; k < backdoors.Count; k++)
        {
            CheckFits(backdoors[k].Trigger, train);
            var free = trainIndices.Where(i => !taken.Contains(i)).ToArray();
            var plan = PoisonPlan.Draw(free, train.Labels, backdoors[k].Target, o.PoisonRate * trainIndices.Length / free.Length, o.Seed + k);
            taken.UnionWith(plan.Indices);
            plans.Add(plan);
        }
        var planted = backdoors.Select((b, k) => new Backdoor(b.Trigger, plans[k].AsSet(), b.Target)).ToList();
        return (plans, Train(model, tokenizer, train, trainIndices, o, planted, progress));
    }

    static (ITrigger, Tensor?) Resolve(AttackOptions o, Clip model, ClipTokenizer tokenizer, ImageDataset train, long[] indices, int target,
        string patchPath)
    {
        var spec = TriggerSpec.Parse(o.Trigger);
        if (spec.Name != "badclip") return (Triggers.Parse(o.Trigger), null);
        int size = spec.Int("size", 4, 1, 4096), steps = spec.Int("steps", 200, 1, 100000);
        spec.RejectUnknown();
        using var head = ZeroShotHead.ForClasses(model, tokenizer, train.ClassNames);
        using var optimised = OptimizedPatch.Optimize(model, head, train, indices, target, size, steps, o.Seed);
        // Rounded to 8 bits so the in-memory trigger equals the saved patch.png that its spec names.
        var patch = optimised.mul(255).round().clamp(0, 255).div(255);
        string recorded = $"badnet:size={size},pattern=image,loc=br,seed=0,path={patchPath}";
        return (new BadNet(patch, "br", recorded), patch);
    }

    static void CheckFits(ITrigger trigger, ImageDataset data)
    {
        using var probe = zeros(1, 3, data.Height, data.Width);
        trigger.Apply(probe).Dispose();
    }

    static TrainResult Train(Clip model, ClipTokenizer tokenizer, ImageDataset train, long[] indices, AttackOptions o,
        IReadOnlyList<Backdoor> backdoors, IProgress<TrainProgress>? progress)
    {
        var batches = new PoisonedBatches(train, indices, backdoors, model.Config.Preprocess);
        if (o.Mode == AttackMode.Supervised)
        {
            using var head = ZeroShotHead.ForClasses(model, tokenizer, train.ClassNames);
            return FineTune.Train(model, head, indices.Length, batches.Labelled, o.Train with { Seed = o.Seed }, progress);
        }
        var captions = Captions.For(train.ClassNames);
        var rng = new Random((int)(o.Seed & 0x7fffffff));
        return Contrastive.Train(model, indices.Length, positions =>
        {
            var (images, labels) = batches.Labelled(positions);
            var texts = labels.cpu().data<long>().ToArray().Select(l => captions.Sample(l, rng)).ToList();
            return (images, tokenizer.TokenizeTensor(texts, model.Config.Text.ContextLength));
        }, o.Train with { Seed = o.Seed }, progress);
    }
}
