using Tbar.Models;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Tbar.Unlearning;

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
    public static CleanSet For(Clip model, ZeroShotHead head, UnlearnTask task, CleanConsistency o)
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
        var (x, positions) = Batch(forgetPositions, model.Config.Preprocess);
        using var index = tensor(positions);
        using var emb = model.EncodeImage(x);
        x.Dispose();
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

    /// <summary>The normalised clean images (B, 3, S, S) matched to this forget batch, and their positions in the clean set.</summary>
    public (Tensor Images, long[] Positions) Batch(long[] forgetPositions, PreprocessConfig preprocess)
    {
        var positions = Positions(forgetPositions);
        var data = paired ? task.Forget.Data : task.CleanPool;
        using var raw = data.Images(positions.Select(p => ids[p]).ToArray());
        return (Preprocess.Apply(raw, preprocess), positions);
    }

    public void Dispose()
    {
        embeddings.Dispose();
        logProbs.Dispose();
    }
}
