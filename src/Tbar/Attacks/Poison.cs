namespace Tbar.Attacks;

/// <summary>Which training examples carry the trigger (all-to-one: relabelled to the target), chosen once from the seed.</summary>
/// <param name="Indices">Dataset indices that are poisoned, sorted.</param>
/// <param name="Target">Target class index.</param>
/// <param name="Rate">Poisoned share of the training set.</param>
/// <param name="Seed">Seed the indices were drawn from.</param>
public sealed record PoisonPlan(long[] Indices, int Target, double Rate, long Seed)
{
    /// <summary>Draws round(rate·N) indices among the non-target examples of <paramref name="trainIndices"/>.</summary>
    public static PoisonPlan Draw(long[] trainIndices, long[] labels, int target, double rate, long seed)
    {
        if (!(rate > 0 && rate <= 1)) throw new TbarException($"poison rate {rate} must be in (0, 1]");
        var candidates = trainIndices.Where(i => labels[i] != target).ToArray();
        int count = (int)Math.Round(rate * trainIndices.Length);
        if (count < 1) throw new TbarException($"poison rate {rate} of {trainIndices.Length} images poisons none");
        if (count > candidates.Length)
            throw new TbarException($"poison rate {rate} needs {count} non-target images but only {candidates.Length} exist");
        var order = Shuffle.Permutation(candidates.Length, Shuffle.Generator(seed));
        return new PoisonPlan(order.Take(count).Select(i => candidates[i]).Order().ToArray(), target, rate, seed);
    }

    /// <summary>Fast membership test.</summary>
    public HashSet<long> AsSet() => Indices.ToHashSet();

    /// <summary>
    /// <paramref name="indices"/> without the poisoned ones, order kept: the defender's clean pool (it holds clean data only).
    /// </summary>
    public long[] CleanPool(long[] indices)
    {
        var poisoned = AsSet();
        return indices.Where(i => !poisoned.Contains(i)).ToArray();
    }
}
