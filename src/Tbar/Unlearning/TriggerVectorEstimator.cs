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

/// <summary>How the trigger vector is estimated.</summary>
/// <param name="Recipe">Fine-tune on the forget set, e.g. 1 epoch at 1e-4.</param>
/// <param name="Consistency">Penalty that keeps clean outputs at θ_b's while the forget set is learnt.</param>
/// <param name="Lambda">Weight of the penalty, e.g. 10.</param>
/// <param name="Paired">Clean images are the forget images themselves without the trigger (else the clean budget).</param>
/// <param name="TargetShare">Share of each clean batch drawn from the target class, e.g. 0.5 (0: as the clean budget comes).</param>
/// <param name="Frozen">Image-tower parameter-name prefixes kept fixed, e.g. ["proj", "ln_post."] for a feature-level τ.</param>
/// <param name="EmbeddingLoss">Forget loss 1 − cos(f(x+t), w_target) instead of cross-entropy (not saturated on a working backdoor).</param>
/// <param name="ProjectK">Remove τ's component in the span of the top-k clean target-class gradient directions (0: off).</param>
/// <param name="Target">Remove τ's component along the "answer the target class" vector (<see cref="TargetDirection"/>).</param>
public sealed record TauOptions(TrainOptions Recipe, Consistency Consistency = Consistency.None, double Lambda = 0, bool Paired = false,
    double TargetShare = 0, string[]? Frozen = null, bool EmbeddingLoss = false, int ProjectK = 0,
    TargetProjection Target = TargetProjection.None)
{
    /// <summary>Plain TBAR: cross-entropy to the target on the forget set, nothing else.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsPlain => Consistency == Consistency.None && (Frozen?.Length ?? 0) == 0 && !EmbeddingLoss && ProjectK == 0
        && Target == TargetProjection.None;

    /// <summary>A short name of the estimator for tables, e.g. "embeddings λ=10, paired".</summary>
    public string Describe()
    {
        var parts = new List<string>();
        if (Consistency != Consistency.None) parts.Add($"{Consistency.ToString().ToLowerInvariant()} λ={Lambda:G3}" + (Paired ? ", paired" : "")
            + (TargetShare > 0 ? $", target share {TargetShare:G2}" : ""));
        if ((Frozen?.Length ?? 0) > 0) parts.Add($"frozen {string.Join("+", Frozen!)}");
        if (EmbeddingLoss) parts.Add("embedding forget loss");
        if (ProjectK > 0) parts.Add($"target-gradient span k={ProjectK} removed");
        if (Target != TargetProjection.None) parts.Add($"target-class vector removed ({Target.ToString().ToLowerInvariant()})");
        return parts.Count == 0 ? "plain" : string.Join("; ", parts);
    }

    /// <summary>Throws naming the bad field.</summary>
    public void Validate()
    {
        Recipe.Validate();
        if (!(Lambda >= 0)) throw new TbarException($"consistency weight λ must be ≥ 0 (got {Lambda})");
        if (TargetShare is < 0 or >= 1) throw new TbarException($"target share must be in [0, 1) (got {TargetShare})");
        if (ProjectK < 0) throw new TbarException($"projection rank k must be ≥ 0 (got {ProjectK})");
    }
}

/// <summary>
/// Trigger-vector estimators beyond plain TBAR. The forget-set fine-tune learns "triggered image → target"; with a
/// consistency penalty it must do so while clean images of every class, the target included, keep θ_b's outputs, so the
/// change it finds is about the trigger rather than about answering the target class. The model is back at θ_b afterwards.
/// </summary>
public static class TriggerVectorEstimator
{
    /// <summary>τ under <paramref name="o"/>; plain options give exactly <see cref="TbarMethod.TriggerVector"/>.</summary>
    public static TaskVector Estimate(Clip model, ZeroShotHead head, UnlearnTask task, TauOptions o, IProgress<TrainProgress>? progress = null)
    {
        o.Validate();
        if (o.IsPlain) return TbarMethod.TriggerVector(model, head, task, o.Recipe, progress);
        if (o.Target != TargetProjection.None)
        {
            using var unprojected = Estimate(model, head, task, o with { Target = TargetProjection.None }, progress);
            return TargetDirection.Remove(model, head, task, unprojected, o.Recipe, o.Target);
        }
        // Taken before training, at θ_b.
        var metadata = TbarMethod.VectorMetadata(model, task, o.Recipe);
        metadata["estimator"] = o.Describe();
        using var clean = CleanSet.For(model, head, task, o);
        var tau = TbarMethod.FineTuneVector(model, () => Train(model, head, task, o, clean, progress), metadata);
        if (o.ProjectK == 0) return tau;
        using (tau) return TargetSubspace.Remove(model, head, task, tau, o.ProjectK, o.Recipe.Seed);
    }

    static void Train(Clip model, ZeroShotHead head, UnlearnTask task, TauOptions o, CleanSet clean, IProgress<TrainProgress>? progress)
    {
        var frozen = o.Frozen ?? [];
        var parameters = model.Visual.named_parameters().Where(p => !frozen.Any(f => p.name == f || p.name.StartsWith(f)))
            .Select(p => p.parameter).ToList();
        if (parameters.Count == 0) throw new TbarException("every image-tower parameter is frozen: nothing to fine-tune");
        model.train();
        TrainLoop.Run(parameters, task.Forget.Indices.Length, o.Recipe, positions =>
        {
            var (images, labels) = task.ForgetBatch(positions, model.Config.Preprocess);
            var loss = ForgetLoss(model, head, images, labels, o.EmbeddingLoss);
            if (o.Consistency == Consistency.None || o.Lambda == 0) return loss;
            return loss + o.Lambda * clean.Penalty(model, head, positions, o.Consistency);
        }, progress);
        model.eval();
    }

    /// <summary>Cross-entropy to the target, or 1 − cos(embedding, target class embedding).</summary>
    public static Tensor ForgetLoss(Clip model, ZeroShotHead head, Tensor images, Tensor labels, bool embedding)
    {
        if (!embedding) return FineTune.Loss(model, head, images, labels);
        using var e = F.normalize(model.EncodeImage(images), dim: -1);
        using var w = head.Weights.index_select(0, labels);
        return 1 - (e * w).sum(1).mean();
    }
}

/// <summary>The clean images a consistency penalty holds fixed, with θ_b's outputs on them computed once.</summary>
sealed class CleanSet : IDisposable
{
    readonly UnlearnTask task;
    readonly long[] ids;
    readonly bool paired;
    readonly int targetCount;
    readonly double targetShare;
    readonly Tensor embeddings, logProbs;

    CleanSet(UnlearnTask task, long[] ids, bool paired, int targetCount, double targetShare, Tensor embeddings, Tensor logProbs)
    {
        (this.task, this.ids, this.paired, this.targetCount, this.targetShare) = (task, ids, paired, targetCount, targetShare);
        (this.embeddings, this.logProbs) = (embeddings, logProbs);
    }

    /// <summary>The clean set of <paramref name="o"/>: the forget images untriggered (paired), or the clean budget, target images first.</summary>
    public static CleanSet For(Clip model, ZeroShotHead head, UnlearnTask task, TauOptions o)
    {
        long[] ids = o.Paired ? task.Forget.Indices
            : task.CleanBudget.Where(i => task.CleanPool.Labels[i] == task.Target)
                .Concat(task.CleanBudget.Where(i => task.CleanPool.Labels[i] != task.Target)).ToArray();
        int targets = o.Paired ? 0 : ids.Count(i => task.CleanPool.Labels[i] == task.Target);
        var data = o.Paired ? task.Forget.Data : task.CleanPool;
        var (e, lp) = Reference(model, head, data, ids);
        return new CleanSet(task, ids, o.Paired, targets, o.TargetShare, e, lp);
    }

    static (Tensor, Tensor) Reference(Clip model, ZeroShotHead head, Data.ImageDataset data, long[] ids)
    {
        using var guard = no_grad();
        model.eval();
        var e = new List<Tensor>();
        var lp = new List<Tensor>();
        for (int s = 0; s < ids.Length; s += 256)
        {
            using var raw = data.Images(ids.Skip(s).Take(256).ToArray());
            using var x = Preprocess.Apply(raw, model.Config.Preprocess);
            using var emb = model.EncodeImage(x);
            e.Add(F.normalize(emb, dim: -1));
            using var logits = head.Logits(emb);
            lp.Add(F.log_softmax(logits, 1));
        }
        var result = (cat(e, 0), cat(lp, 0));
        foreach (var t in e.Concat(lp)) t.Dispose();
        return result;
    }

    /// <summary>Clean-set positions for a batch of forget positions: the same ones (paired), else cycled, with the target share.</summary>
    long[] Positions(long[] forget)
    {
        if (paired) return forget;
        int others = ids.Length - targetCount;
        int wantTargets = targetShare > 0 && targetCount > 0 ? (int)Math.Round(targetShare * forget.Length) : 0;
        if (wantTargets == 0) return forget.Select(p => p % ids.Length).ToArray();
        return forget.Select((p, i) => i < wantTargets || others == 0 ? p % targetCount : targetCount + p % others).ToArray();
    }

    /// <summary>The penalty on the clean images matched to this forget batch.</summary>
    public Tensor Penalty(Clip model, ZeroShotHead head, long[] forgetPositions, Consistency kind)
    {
        var positions = Positions(forgetPositions);
        using var index = tensor(positions);
        var data = paired ? task.Forget.Data : task.CleanPool;
        using var raw = data.Images(positions.Select(p => ids[p]).ToArray());
        using var x = Preprocess.Apply(raw, model.Config.Preprocess);
        using var emb = model.EncodeImage(x);
        if (kind == Consistency.Embeddings)
        {
            using var reference = embeddings.index_select(0, index);
            using var diff = F.normalize(emb, dim: -1) - reference;
            return diff.square().sum(1).mean();
        }
        using var refLp = logProbs.index_select(0, index);
        using var logits = head.Logits(emb);
        using var lp = F.log_softmax(logits, 1);
        // KL(p_b ‖ p_θ) = Σ p_b (log p_b − log p_θ).
        return (refLp.exp() * (refLp - lp)).sum(1).mean();
    }

    public void Dispose()
    {
        embeddings.Dispose();
        logProbs.Dispose();
    }
}
