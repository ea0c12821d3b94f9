using Tbar.Arithmetic;
using Tbar.Models;
using Tbar.Training;

namespace Tbar.Unlearning;

/// <summary>A post-step on τ: wraps an estimator and changes the vector it returns.</summary>
public abstract record TauPostStep(ITauEstimator Inner) : ITauEstimator
{
    public TrainOptions Recipe => Inner.Recipe;

    /// <summary>What the step does, e.g. "target-gradient span k=8 removed".</summary>
    protected abstract string Step { get; }

    public string Describe() => Inner.Describe() is "plain" ? Step : $"{Inner.Describe()}; {Step}";

    public TaskVector Estimate(Clip model, ZeroShotHead head, UnlearnTask task, IProgress<TrainProgress>? progress = null)
    {
        using var inner = Inner.Estimate(model, head, task, progress);
        return Apply(model, head, task, inner);
    }

    /// <summary>The changed vector (a new one; <paramref name="tau"/> is disposed by the caller).</summary>
    protected abstract TaskVector Apply(Clip model, ZeroShotHead head, UnlearnTask task, TaskVector tau);
}

/// <summary>τ without its component in the span of the top-k clean target-class gradient directions (<see cref="TargetSubspace"/>).</summary>
public sealed record TargetSpanRemoved(ITauEstimator Inner, int K) : TauPostStep(Inner)
{
    protected override string Step => $"target-gradient span k={K} removed";

    protected override TaskVector Apply(Clip model, ZeroShotHead head, UnlearnTask task, TaskVector tau)
    {
        if (K < 1) throw new TbarException($"projection rank k must be ≥ 1 (got {K})");
        return TargetSubspace.Remove(model, head, task, tau, K, Recipe.Seed);
    }
}

/// <summary>τ without its component along the "answer the target class" vector (<see cref="TargetDirection"/>).</summary>
public sealed record TargetVectorRemoved(ITauEstimator Inner, TargetProjection How) : TauPostStep(Inner)
{
    protected override string Step => $"target-class vector removed ({How.ToString().ToLowerInvariant()})";

    protected override TaskVector Apply(Clip model, ZeroShotHead head, UnlearnTask task, TaskVector tau)
    {
        if (How == TargetProjection.None) throw new TbarException("a target-vector removal needs a projection (global or per-tensor)");
        return TargetDirection.Remove(model, head, task, tau, Recipe, How);
    }
}
