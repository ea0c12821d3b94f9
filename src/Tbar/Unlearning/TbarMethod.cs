using System.Diagnostics;
using Tbar.Evaluation;
using Tbar.Models;
using Tbar.Training;

namespace Tbar.Unlearning;

/// <summary>TBAR's settings.</summary>
/// <param name="Tau">How τ is estimated: a name or "tau:…" spec of <see cref="TauEstimators"/>, e.g. "plain" or "emb-3".</param>
/// <param name="Recipe">The forget-set fine-tune (paper: 1 epoch, small LR; image tower only).</param>
/// <param name="Rule">How α is chosen on validation.</param>
public sealed record TbarOptions(string Tau, TrainOptions Recipe, AlphaRule Rule)
{
    /// <summary>The estimator these options name.</summary>
    public ITauEstimator Estimator() => TauEstimators.Get(Tau, Recipe);

    /// <summary>
    /// Defaults for the mini-CLIP (measured; see the README). α is searched by the screened search, which lands within one
    /// step of a 40-point grid's choice in a third of bisection's evaluations (docs/alpha-search.md).
    /// </summary>
    public static TbarOptions Default => new("plain", new TrainOptions(Epochs: 1, BatchSize: 64, LearningRate: 1e-4, WeightDecay: 0, WarmupFraction: 0.1),
        new AlphaRule(Search: "screened"));

    /// <summary>The defaults with the CA floor lowered to 75% of the backdoored model's validation CA (method tbar-floor75).</summary>
    public static TbarOptions Floor75 => Default with { Rule = Default.Rule with { CaFloor = 0.75 } };

    /// <summary>
    /// tbar-consistent: τ learnt while the clean budget's unit-norm embeddings are held at θ_b's (λ = 3, estimator "emb-3"), so it
    /// changes triggered behaviour and little else; its ASR is U-shaped in α, hence a wider α range and a valley search.
    /// </summary>
    public static TbarOptions Consistent => Default with { Tau = "emb-3", Rule = new AlphaRule(MaxAlpha: 64, ValleySteps: 6, Search: "screened") };
}

/// <summary>
/// Trigger removal by backdoor arithmetic: fine-tune θ_b on the forget set → θ_b+t; τ = θ_b+t − θ_b; choose α on
/// validation; θ_c = θ_b − α·τ, written into the model in place.
/// </summary>
public static class TbarMethod
{
    /// <summary>Cleans <paramref name="model"/> in place and returns the record (τ included).</summary>
    public static UnlearnResult Run(Clip model, ZeroShotHead head, UnlearnTask task, TbarOptions o, IProgress<TrainProgress>? progress = null,
        string name = "tbar") => Run(model, head, task, o.Estimator(), o.Rule, progress, name);

    /// <summary>TBAR with the trigger vector of <paramref name="estimator"/> and α by <paramref name="rule"/>.</summary>
    public static UnlearnResult Run(Clip model, ZeroShotHead head, UnlearnTask task, ITauEstimator estimator, AlphaRule rule,
        IProgress<TrainProgress>? progress = null, string name = "tbar")
    {
        task.Validate();
        var clock = Stopwatch.StartNew();
        var tau = estimator.Estimate(model, head, task, progress);
        var choice = Negation.Choose(model, head, task, tau, rule);
        Negation.Apply(model, tau, choice.Alpha);
        return new UnlearnResult(name, choice, choice.Reason, choice.Point, tau, clock.Elapsed.TotalSeconds);
    }
}
