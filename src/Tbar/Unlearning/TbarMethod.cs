using System.Diagnostics;
using Tbar.Arithmetic;
using Tbar.Evaluation;
using Tbar.Models;
using Tbar.Training;

namespace Tbar.Unlearning;

/// <summary>TBAR's settings.</summary>
/// <param name="Tau">How τ is estimated: the forget-set fine-tune (paper: 1 epoch, small LR; image tower only) and any penalty.</param>
/// <param name="Rule">How α is chosen on validation.</param>
public sealed record TbarOptions(TauOptions Tau, AlphaRule Rule)
{
    /// <summary>The forget-set fine-tune recipe.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public TrainOptions FineTune => Tau.Recipe;

    /// <summary>
    /// Defaults for the mini-CLIP (measured; see the README). α is searched by the screened search, which lands within one
    /// step of a 40-point grid's choice in a third of bisection's evaluations (README, "Choosing α in fewer evaluations").
    /// </summary>
    public static TbarOptions Default => new(new TauOptions(new TrainOptions(Epochs: 1, BatchSize: 64, LearningRate: 1e-4, WeightDecay: 0, WarmupFraction: 0.1)),
        new AlphaRule(Search: "screened"));

    /// <summary>The defaults with the CA floor lowered to 75% of the backdoored model's validation CA (method tbar-floor75).</summary>
    public static TbarOptions Floor75 => Default with { Rule = Default.Rule with { CaFloor = 0.75 } };

    /// <summary>
    /// tbar-consistent: τ learnt while the clean budget's unit-norm embeddings are held at θ_b's (λ = 3), so it changes
    /// triggered behaviour and little else; its ASR is U-shaped in α, hence a wider α range and a valley search.
    /// </summary>
    public static TbarOptions Consistent => new(Default.Tau with { Consistency = Consistency.Embeddings, Lambda = 3 },
        new AlphaRule(MaxAlpha: 64, ValleySteps: 6, Search: "screened"));
}

/// <summary>
/// Trigger removal by backdoor arithmetic: fine-tune θ_b on the forget set → θ_b+t; τ = θ_b+t − θ_b; choose α on
/// validation; θ_c = θ_b − α·τ, written into the model in place.
/// </summary>
public static class TbarMethod
{
    /// <summary>Cleans <paramref name="model"/> in place and returns the record (τ included).</summary>
    public static UnlearnResult Run(Clip model, ZeroShotHead head, UnlearnTask task, TbarOptions o, IProgress<TrainProgress>? progress = null,
        string name = "tbar")
    {
        task.Validate();
        var clock = Stopwatch.StartNew();
        var tau = TriggerVectorEstimator.Estimate(model, head, task, o.Tau, progress);
        var choice = ChooseAlpha(model, head, task, tau, o.Rule);
        return new UnlearnResult(name, choice, choice.Reason, choice.Point, tau, clock.Elapsed.TotalSeconds);
    }

    /// <summary>τ_t = θ_b+t − θ_b over the image tower; the model is back at θ_b afterwards (bit for bit).</summary>
    public static TaskVector TriggerVector(Clip model, ZeroShotHead head, UnlearnTask task, TrainOptions recipe, IProgress<TrainProgress>? progress) =>
        FineTuneVector(model, head, task.Forget.Indices.Length, positions => task.ForgetBatch(positions, model.Config.Preprocess), recipe,
            VectorMetadata(model, task, recipe), progress);

    /// <summary>What a trigger vector records about its making; called at θ_b, so base_visual_sha256 names the base.</summary>
    public static Dictionary<string, string> VectorMetadata(Clip model, UnlearnTask task, TrainOptions recipe) => new()
    {
        ["base_visual_sha256"] = VisualWeights.Hash(model), ["layout"] = model.Origin?.Layout.ToString() ?? "in-memory",
        ["forget_size"] = task.Forget.Indices.Length.ToString(), ["lr"] = recipe.LearningRate.ToString("R"),
        ["epochs"] = recipe.Epochs.ToString(), ["seed"] = recipe.Seed.ToString(), ["trigger"] = task.Forget.Trigger?.Spec ?? "images",
    };

    /// <summary>The image-tower weight change of one fine-tune run; the model's weights are restored afterwards.</summary>
    public static TaskVector FineTuneVector(Clip model, ZeroShotHead head, int count, Func<long[], (TorchSharp.torch.Tensor, TorchSharp.torch.Tensor)> batch,
        TrainOptions recipe, IReadOnlyDictionary<string, string>? metadata, IProgress<TrainProgress>? progress = null)
        => FineTuneVector(model, () => FineTune.Train(model, head, count, batch, recipe, progress), metadata);

    /// <summary>The image-tower weight change made by <paramref name="train"/>; the model's weights are restored afterwards.</summary>
    public static TaskVector FineTuneVector(Clip model, Action train, IReadOnlyDictionary<string, string>? metadata)
    {
        var before = VisualWeights.Snapshot(model);
        train();
        return new TaskVector(VisualWeights.RestoreTakingChange(model, before), metadata);
    }

    /// <summary>Sweeps α on validation with <see cref="WeightEdit"/> and leaves the model at the chosen α.</summary>
    public static AlphaChoice ChooseAlpha(Clip model, ZeroShotHead head, UnlearnTask task, TaskVector tau, AlphaRule rule)
    {
        using var edit = new WeightEdit(model, tau);
        var choice = AlphaSweep.Search(alpha =>
        {
            edit.Set(-alpha);
            return task.Point(model, head, alpha);
        }, alpha =>
        {
            edit.Set(-alpha);
            return task.Look(model, head, alpha, rule.LookSize);
        }, rule);
        edit.Set(-choice.Alpha);
        return choice;
    }
}
