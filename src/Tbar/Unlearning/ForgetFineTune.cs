using Tbar.Arithmetic;
using Tbar.Models;
using Tbar.Training;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Tbar.Unlearning;

/// <summary>What the forget-set fine-tune keeps fixed on clean images while it learns the trigger.</summary>
public enum Consistency
{
    /// <summary>Nothing: plain TBAR.</summary>
    None,
    /// <summary>KL(p_b ‖ p_θ) of the zero-shot logits on clean images (saturated classes barely count).</summary>
    Logits,
    /// <summary>Squared distance of unit-norm image embeddings to θ_b's on clean images (every movement counts).</summary>
    Embeddings,
}

/// <summary>A consistency penalty on clean images, a piece of a fine-tune objective.</summary>
/// <param name="Kind">What is held at θ_b's values.</param>
/// <param name="Lambda">Weight of the penalty, e.g. 3.</param>
/// <param name="Paired">Clean images are the forget images themselves without the trigger (else the clean budget).</param>
/// <param name="TargetShare">Share of each clean batch drawn from the target class, e.g. 0.5 (0: as the clean budget comes).</param>
public sealed record CleanConsistency(Consistency Kind, double Lambda, bool Paired = false, double TargetShare = 0)
{
    /// <summary>E.g. "embeddings λ=3, paired".</summary>
    public string Describe() => $"{Kind.ToString().ToLowerInvariant()} λ={Lambda:G3}" + (Paired ? ", paired" : "")
        + (TargetShare > 0 ? $", target share {TargetShare:G2}" : "");

    /// <summary>Throws naming the bad field.</summary>
    public void Validate()
    {
        if (Kind == Consistency.None) throw new TbarException("a consistency penalty needs a kind (logits or embeddings)");
        if (!(Lambda >= 0)) throw new TbarException($"consistency weight λ must be ≥ 0 (got {Lambda})");
        if (TargetShare is < 0 or >= 1) throw new TbarException($"target share must be in [0, 1) (got {TargetShare})");
    }
}

/// <summary>
/// The trigger vector from a fine-tune of the image tower on the forget set (triggered images → target): plain TBAR with
/// no pieces; a consistency penalty keeps clean outputs at θ_b's, so the change found is about the trigger rather than about
/// answering the target class; a drift penalty does so in the tangent space at θ_b.
/// </summary>
/// <param name="Recipe">Fine-tune on the forget set, e.g. 1 epoch at 1e-4.</param>
/// <param name="Consistency">Clean-output penalty (null: none).</param>
/// <param name="Drift">Tangent-space drift penalty on clean images (null: none).</param>
/// <param name="Frozen">Image-tower parameter-name prefixes kept fixed, e.g. ["proj", "ln_post."] for a feature-level τ.</param>
/// <param name="EmbeddingLoss">Forget loss 1 − cos(f(x+t), w_target) instead of cross-entropy (not saturated on a working backdoor).</param>
public sealed record ForgetFineTune(TrainOptions Recipe, CleanConsistency? Consistency = null, DriftPenalty? Drift = null,
    string[]? Frozen = null, bool EmbeddingLoss = false) : ITauEstimator
{
    bool IsPlain => Consistency == null && Drift == null && (Frozen?.Length ?? 0) == 0 && !EmbeddingLoss;

    public string Describe()
    {
        var parts = new List<string>();
        if (Consistency != null) parts.Add(Consistency.Describe());
        if (Drift != null) parts.Add(Drift.Describe());
        if ((Frozen?.Length ?? 0) > 0) parts.Add($"frozen {string.Join("+", Frozen!)}");
        if (EmbeddingLoss) parts.Add("embedding forget loss");
        return parts.Count == 0 ? "plain" : string.Join("; ", parts);
    }

    public TaskVector Estimate(Clip model, ZeroShotHead head, UnlearnTask task, IProgress<TrainProgress>? progress = null)
    {
        Recipe.Validate();
        Consistency?.Validate();
        Drift?.Validate();
        if (IsPlain) return FineTuneVectors.TriggerVector(model, head, task, Recipe, progress);
        // Taken before training, at θ_b.
        var metadata = FineTuneVectors.VectorMetadata(model, task, Recipe);
        metadata["estimator"] = Describe();
        using var clean = CleanSet.For(model, head, task, Consistency ?? new CleanConsistency(Unlearning.Consistency.Embeddings, 0));
        using var drift = Drift?.Start(model, clean);
        return FineTuneVectors.FineTuneVector(model, () => Train(model, head, task, clean, drift, progress), metadata);
    }

    void Train(Clip model, ZeroShotHead head, UnlearnTask task, CleanSet clean, DriftPenalty.Run? drift, IProgress<TrainProgress>? progress)
    {
        var frozen = Frozen ?? [];
        var named = model.Visual.named_parameters().Where(p => !frozen.Any(f => p.name == f || p.name.StartsWith(f))).ToList();
        if (named.Count == 0) throw new TbarException("every image-tower parameter is frozen: nothing to fine-tune");
        var parameters = named.Select(p => p.parameter).ToList();
        model.train();
        TrainLoop.RunWithGradients(parameters, task.Forget.Indices.Length, Recipe, positions =>
        {
            // The drift's gradients are taken first: they are computed at θ_b, swapped in and out around the pass.
            var driftGrads = drift?.Gradients(positions);
            var (images, labels) = task.ForgetBatch(positions, model.Config.Preprocess);
            var loss = ForgetLoss(model, head, images, labels, EmbeddingLoss);
            if (Consistency is { } c && c.Lambda != 0) loss = loss + c.Lambda * clean.Penalty(model, head, positions, c.Kind);
            loss.backward();
            double value = loss.item<float>();
            if (driftGrads != null) value += drift!.AddTo(named, driftGrads);
            return value;
        }, progress);
        model.eval();
    }

    /// <summary>Cross-entropy to the target, or 1 − cos(embedding, target class embedding).</summary>
    public static Tensor ForgetLoss(Clip model, ZeroShotHead head, Tensor images, Tensor labels, bool embedding) =>
        ForgetLoss(head, model.EncodeImage(images), labels, embedding);

    /// <summary>The forget loss of raw image embeddings (B, E).</summary>
    public static Tensor ForgetLoss(ZeroShotHead head, Tensor embeddings, Tensor labels, bool embedding)
    {
        if (!embedding)
        {
            using var logits = head.Logits(embeddings);
            return F.cross_entropy(logits, labels);
        }
        using var e = F.normalize(embeddings, dim: -1);
        using var w = head.Weights.index_select(0, labels);
        return 1 - (e * w).sum(1).mean();
    }
}
