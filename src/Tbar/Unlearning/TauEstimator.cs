using Tbar.Arithmetic;
using Tbar.Models;
using Tbar.Training;

namespace Tbar.Unlearning;

/// <summary>
/// A way of estimating the trigger vector τ from a backdoored model and an unlearning task. Estimators are records (their
/// fields are their options) and compose: a fine-tune objective (<see cref="ForgetFineTune"/>, <see cref="TangentFineTune"/>)
/// is an estimator, and a post-step on τ (<see cref="TargetSpanRemoved"/>, <see cref="TargetVectorRemoved"/>) wraps one.
/// Every estimator leaves the model at θ_b, bit for bit. <see cref="TauEstimators"/> names them.
/// </summary>
public interface ITauEstimator
{
    /// <summary>The forget-set fine-tune's recipe (also what a post-step's own fine-tunes use).</summary>
    TrainOptions Recipe { get; }

    /// <summary>A short description for tables, e.g. "embeddings λ=3" or "tangent; drift λ=10".</summary>
    string Describe();

    /// <summary>τ over the image tower; the model is back at θ_b afterwards.</summary>
    TaskVector Estimate(Clip model, ZeroShotHead head, UnlearnTask task, IProgress<TrainProgress>? progress = null);
}
