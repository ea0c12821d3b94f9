using Tbar.Arithmetic;
using Tbar.Models;
using Tbar.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tbar.Unlearning;

/// <summary>
/// The trigger vector from the forget fine-tune of the image tower's linearisation at θ_b (Ortiz-Jiménez et al., "Task
/// Arithmetic in the Tangent Space", NeurIPS 2023): f_lin(x; θ_b + Δ) = f(x; θ_b) + J(θ_b; x)·Δ is trained instead of f, and
/// τ = Δ. The tower is never moved: each step takes J·Δ exactly by double backward and the gradient by one VJP at θ_b
/// (<see cref="Linearisation"/>), with BatchNorm frozen and the text head fixed. Negating τ is then exact in the linear model,
/// and what is returned to users is the ordinary checkpoint θ_b − α·τ.
/// </summary>
/// <param name="Recipe">Fine-tune on the forget set, e.g. 1 epoch at 1e-4.</param>
/// <param name="Drift">Drift penalty on clean images in the same tangent space (null: none).</param>
/// <param name="EmbeddingLoss">Forget loss 1 − cos(f_lin(x+t), w_target) instead of cross-entropy.</param>
public sealed record TangentFineTune(TrainOptions Recipe, DriftPenalty? Drift = null, bool EmbeddingLoss = false) : ITauEstimator
{
    public string Describe() => string.Join("; ", new[] { "tangent", Drift?.Describe(), EmbeddingLoss ? "embedding forget loss" : null }
        .Where(p => p != null));

    public TaskVector Estimate(Clip model, ZeroShotHead head, UnlearnTask task, IProgress<TrainProgress>? progress = null)
    {
        Recipe.Validate();
        Drift?.Validate();
        var metadata = FineTuneVectors.VectorMetadata(model, task, Recipe);
        metadata["estimator"] = Describe();
        var linearisation = new Linearisation(model.Visual);
        var delta = linearisation.Parameters.Select(p => new Parameter(zeros_like(p.Parameter), requires_grad: true)).ToList();
        using var clean = Drift != null ? CleanSet.For(model, head, task, new CleanConsistency(Consistency.Embeddings, 0)) : null;
        var preprocess = model.Config.Preprocess;
        TrainLoop.RunWithGradients(delta, task.Forget.Indices.Length, Recipe, positions =>
        {
            var (images, labels) = task.ForgetBatch(positions, preprocess);
            var (loss, grads) = linearisation.Step(images, delta, (linear, _) => ForgetFineTune.ForgetLoss(head, linear, labels, EmbeddingLoss));
            if (Drift != null)
            {
                var (cleanImages, _) = clean!.Batch(positions, preprocess);
                using (cleanImages)
                {
                    var (drift, driftGrads) = linearisation.Step(cleanImages, delta, Drift.Loss);
                    loss += drift;
                    for (int i = 0; i < grads.Length; i++)
                    {
                        InPlace.Add(grads[i], driftGrads[i]);
                        driftGrads[i].Dispose();
                    }
                }
            }
            for (int i = 0; i < delta.Count; i++) delta[i].grad = grads[i];
            return loss;
        }, progress);
        var vector = linearisation.Parameters.Zip(delta, (p, d) => ("visual." + p.Name, (Tensor)d.detach().clone()))
            .ToDictionary(p => p.Item1, p => p.Item2);
        foreach (var d in delta) d.Dispose();
        return new TaskVector(vector, metadata);
    }
}
