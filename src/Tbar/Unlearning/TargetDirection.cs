using Tbar.Arithmetic;
using Tbar.Models;
using Tbar.Training;
using static TorchSharp.torch;

namespace Tbar.Unlearning;

/// <summary>How τ is taken off the "answer the target class" vector τ_y (see <see cref="TargetDirection"/>).</summary>
public enum TargetProjection
{
    /// <summary>Not at all.</summary>
    None,
    /// <summary>One coefficient over the whole image tower: τ − (⟨τ, τ_y⟩ / ‖τ_y‖²) τ_y.</summary>
    Global,
    /// <summary>The same, tensor by tensor: each parameter tensor loses its own component along τ_y's.</summary>
    PerTensor,
}

/// <summary>
/// Tests the explanation of why plain negation costs the target class: at θ_b the forget loss is saturated, so the forget
/// fine-tune mostly learns "answer the target", whatever the image. τ_y is that move made on purpose: the weight change of the
/// same recipe on the clean budget (every class) with every label set to the target. If τ holds τ_y's direction, removing it
/// should leave a trigger vector whose negation spares the target class. The model is back at θ_b afterwards.
/// </summary>
public static class TargetDirection
{
    /// <summary>τ without its component along τ_y; the metadata records cos(τ, τ_y) over the tower before the removal.</summary>
    public static TaskVector Remove(Clip model, ZeroShotHead head, UnlearnTask task, TaskVector tau, TrainOptions recipe, TargetProjection how)
    {
        if (how == TargetProjection.None) return tau;
        int count = task.CleanBudget.Length;
        if (count == 0) throw new TbarException("the clean budget is empty: the target-class vector cannot be estimated");
        var preprocess = model.Config.Preprocess;
        using var answer = FineTuneVectors.FineTuneVector(model, head, count, positions =>
        {
            var (images, labels) = task.CleanBatch(positions, preprocess);
            using (labels) return (images, full_like(labels, task.Target));
        }, recipe, null);
        var sums = VectorMaths.Sums(tau, answer);
        double tauY = sums.Values.Sum(d => d.AB), yy = sums.Values.Sum(d => d.BB), tauTau = sums.Values.Sum(d => d.AA);
        var result = new Dictionary<string, Tensor>();
        foreach (var (key, s) in sums)
        {
            double coefficient = how == TargetProjection.Global ? VectorMaths.Coefficient(tauY, yy) : VectorMaths.Coefficient(s.AB, s.BB);
            result[key] = VectorMaths.RemoveAlong(tau[key], answer[key], coefficient);
        }
        var metadata = tau.Metadata.ToDictionary(p => p.Key, p => p.Value);
        metadata["target_vector_cosine"] = VectorMaths.Cosine(tauY, tauTau, yy).ToString("R");
        metadata["projected_off"] = $"target-class vector ({how.ToString().ToLowerInvariant()})";
        return new TaskVector(result, metadata);
    }
}
