using Tbar.Attacks;
using Tbar.Data;
using Tbar.Evaluation;
using Tbar.Models;
using static TorchSharp.torch;

namespace Tbar.Unlearning;

/// <summary>Images taken from a dataset, with a trigger applied (null: the images already carry it).</summary>
public sealed record TriggeredSet(ImageDataset Data, long[] Indices, ITrigger? Trigger)
{
    /// <summary>(B, 3, H, W) in [0,1] for positions into <see cref="Indices"/>.</summary>
    public Tensor Images(long[] positions)
    {
        var ids = positions.Select(p => Indices[p]).ToArray();
        var images = Data.Images(ids);
        if (Trigger == null) return images;
        using (images) return Trigger.Apply(images, ids);
    }
}

/// <summary>
/// What an unlearning method gets: the forget set (triggered images, to be labelled with the target), clean validation
/// images for CA, and triggered non-target validation images for ASR. Validation is disjoint from the forget set;
/// the test split is not here at all.
/// </summary>
public sealed record UnlearnTask(TriggeredSet Forget, int Target, ImageDataset ValData, long[] ValClean, TriggeredSet ValTriggered,
    ImageDataset CleanPool, long[] CleanPoolIndices)
{
    /// <summary>
    /// Cuts a defender's pool of indices (disjoint from any test split) into a forget set of non-target images to trigger,
    /// a validation set, and a clean pool for baselines; all three disjoint, chosen from the seed.
    /// </summary>
    public static UnlearnTask FromPool(ImageDataset data, long[] pool, ITrigger trigger, int target, int forgetSize, int valSize, long seed)
    {
        var nonTarget = pool.Where(i => data.Labels[i] != target).ToArray();
        var forget = Splits.Take(nonTarget, seed, forgetSize)[0];
        var rest = pool.Except(forget).ToArray();
        var parts = Splits.Take(rest, seed + 1, valSize, Math.Min(forgetSize, rest.Length - valSize));
        var valTriggered = parts[0].Where(i => data.Labels[i] != target).ToArray();
        return new UnlearnTask(new TriggeredSet(data, forget, trigger), target, data, parts[0],
            new TriggeredSet(data, valTriggered, trigger), data, parts[1]);
    }

    /// <summary>
    /// A task from a folder of already-triggered images (true classes unknown, all assumed non-target): a seeded quarter
    /// of them (at least one) is kept for validation ASR, the rest (up to <paramref name="forgetSize"/>) is the forget
    /// set; clean validation images and the clean pool come from the defender's <paramref name="pool"/>.
    /// </summary>
    public static UnlearnTask FromImages(ImageDataset triggered, ImageDataset clean, long[] pool, int target, int forgetSize, int valSize, long seed)
    {
        if (triggered.Count < 2) throw new TbarException($"{triggered.Source}: need at least 2 triggered images (one to forget, one to validate), found {triggered.Count}");
        int val = Math.Max(1, triggered.Count / 4);
        var parts = Splits.Take(triggered.AllIndices(), seed, val, Math.Min(forgetSize, triggered.Count - val));
        var cleanParts = Splits.Take(pool, seed + 1, Math.Min(valSize, pool.Length), Math.Min(parts[1].Length, Math.Max(0, pool.Length - valSize)));
        return new UnlearnTask(new TriggeredSet(triggered, parts[1], null), target, clean, cleanParts[0],
            new TriggeredSet(triggered, parts[0], null), clean, cleanParts[1]);
    }

    /// <summary>Whether the forget images' true classes are known (not so for a folder of triggered images).</summary>
    public bool ForgetLabelsKnown => Forget.Indices.All(i => Forget.Data.Labels[i] >= 0);

    /// <summary>Throws when the task is unusable: empty sets, or validation images that are also in the forget set.</summary>
    public void Validate()
    {
        if (Forget.Indices.Length == 0) throw new TbarException("the forget set is empty");
        if (ValClean.Length == 0 || ValTriggered.Indices.Length == 0) throw new TbarException("the validation split is empty");
        if (ReferenceEquals(Forget.Data, ValData) && Forget.Indices.Intersect(ValClean.Concat(ValTriggered.Indices)).Any())
            throw new TbarException($"the validation split overlaps the forget set ({Forget.Indices.Intersect(ValClean).Count()} shared images): they must be disjoint");
        if (ValTriggered.Indices.Any(i => ValTriggered.Data.Labels[i] == Target))
            throw new TbarException("triggered validation images must not belong to the target class (ASR counts non-target images only)");
    }

    /// <summary>Validation CA and ASR of the model as it is now.</summary>
    public (Rate CleanAccuracy, Rate AttackSuccess) Evaluate(Clip model, ZeroShotHead head)
    {
        var p = Point(model, head, 0);
        return (p.CleanAccuracy, p.AttackSuccess);
    }

    /// <summary>Validation CA, ASR and target-class CA of the model as it is now, recorded at <paramref name="alpha"/>.</summary>
    public AlphaPoint Point(Clip model, ZeroShotHead head, double alpha)
    {
        var clean = Metrics.Predict(model, head, ValData, ValClean);
        var scored = Metrics.Score(ValData.Labels, ValClean, clean, -1, null);
        return new AlphaPoint(alpha, scored.CleanAccuracy, AttackSuccess(model, head), scored.TargetClass(Target));
    }

    /// <summary>Validation ASR alone: the triggered validation images the model sends to the target.</summary>
    public Rate AttackSuccess(Clip model, ZeroShotHead head)
    {
        var triggered = Metrics.Predict(model, head, ValTriggered.Data, ValTriggered.Indices, ValTriggered.Trigger);
        return new Rate(triggered.LongCount(p => p == Target), triggered.Length);
    }

    /// <summary>
    /// Validation CA and ASR on fixed subsets of at most <paramref name="size"/> clean and <paramref name="size"/> triggered
    /// validation images (the same seeded subsets at every α): the screened α search's cheap first look.
    /// </summary>
    public AlphaLook Look(Clip model, ZeroShotHead head, double alpha, int size)
    {
        var clean = Splits.Take(ValClean, LookSeed, Math.Min(size, ValClean.Length))[0];
        var triggered = Splits.Take(ValTriggered.Indices, LookSeed, Math.Min(size, ValTriggered.Indices.Length))[0];
        var cleanPredicted = Metrics.Predict(model, head, ValData, clean);
        var triggeredPredicted = Metrics.Predict(model, head, ValTriggered.Data, triggered, ValTriggered.Trigger);
        return new AlphaLook(alpha, new Rate(clean.Where((idx, i) => cleanPredicted[i] == ValData.Labels[idx]).LongCount(), clean.Length),
            new Rate(triggeredPredicted.LongCount(p => p == Target), triggered.Length));
    }

    // Any fixed seed: the look's subsets need only be random with respect to the images, not vary between runs.
    const long LookSeed = 0;

    /// <summary>
    /// Up to <paramref name="count"/> indices of the defender's <paramref name="pool"/> (into <see cref="CleanPool"/>) that are in no
    /// split of this task, chosen from the seed: images no method saw, for checks that must not reuse what the methods got.
    /// </summary>
    public long[] HeldOut(long[] pool, int count, long seed)
    {
        var used = CleanPoolIndices.ToHashSet();
        if (ReferenceEquals(ValData, CleanPool)) used.UnionWith(ValClean);
        if (ReferenceEquals(ValTriggered.Data, CleanPool)) used.UnionWith(ValTriggered.Indices);
        if (ReferenceEquals(Forget.Data, CleanPool)) used.UnionWith(Forget.Indices);
        var free = pool.Where(i => !used.Contains(i)).ToArray();
        return free.Length == 0 ? [] : Splits.Take(free, seed, Math.Min(count, free.Length))[0];
    }

    /// <summary>Clean images for baselines on TBAR's data budget: as many as the forget set holds, from the clean pool.</summary>
    public long[] CleanBudget => CleanPoolIndices.Take(Forget.Indices.Length).ToArray();

    /// <summary>Normalised clean images with their true labels, for positions into <see cref="CleanBudget"/>.</summary>
    public (Tensor Images, Tensor Labels) CleanBatch(long[] positions, PreprocessConfig preprocess)
    {
        var budget = CleanBudget;
        var ids = positions.Select(p => budget[p]).ToArray();
        using var raw = CleanPool.Images(ids);
        return (Preprocess.Apply(raw, preprocess), CleanPool.LabelTensor(ids));
    }

    /// <summary>Normalised forget-set images (triggered) with their true labels, for positions into the forget set.</summary>
    public (Tensor Images, Tensor Labels) ForgetBatchTrueLabels(long[] positions, PreprocessConfig preprocess)
    {
        if (!ForgetLabelsKnown)
            throw new TbarException($"{Forget.Data.Source}: the forget images' true classes are unknown; this method needs them " +
                $"(use one of {string.Join(", ", Methods.WithoutForgetLabels)})");
        using var raw = Forget.Images(positions);
        return (Preprocess.Apply(raw, preprocess), Forget.Data.LabelTensor(positions.Select(p => Forget.Indices[p]).ToArray()));
    }

    /// <summary>Size of the relabelled mix: the clean budget, then the forget set.</summary>
    public int RelabelledCount => CleanBudget.Length + Forget.Indices.Length;

    /// <summary>
    /// The clean budget followed by the forget images with their true labels (<see cref="MixedBatch"/>), for positions into
    /// <see cref="RelabelledCount"/>: FT-relabel's data and TBAR-refit's repair.
    /// </summary>
    public (Tensor Images, Tensor Labels) RelabelledBatch(long[] positions, PreprocessConfig preprocess) =>
        MixedBatch.Of(positions, CleanBudget.Length, p => CleanBatch(p, preprocess), p => ForgetBatchTrueLabels(p, preprocess));

    /// <summary>Normalised forget-set images labelled with the target, for positions into the forget set.</summary>
    public (Tensor Images, Tensor Labels) ForgetBatch(long[] positions, PreprocessConfig preprocess)
    {
        using var raw = Forget.Images(positions);
        return (Preprocess.Apply(raw, preprocess), full(positions.Length, (long)Target, dtype: ScalarType.Int64));
    }
}
