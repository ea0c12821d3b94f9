namespace Tbar.Data;

/// <summary>Deterministic, seeded, disjoint index splits.</summary>
public static class Splits
{
    /// <summary>The project's fixed seed for Fashion-MNIST's half A (pre-training) / half B (downstream) split.</summary>
    public const long HalvesSeed = 20251016;

    /// <summary>A seeded permutation of 0..count-1 cut into two halves (A gets the extra one when count is odd).</summary>
    public static (long[] A, long[] B) Halves(int count, long seed = HalvesSeed)
    {
        var order = Shuffle.Permutation(count, Shuffle.Generator(seed));
        int half = (count + 1) / 2;
        return (order[..half].Order().ToArray(), order[half..].Order().ToArray());
    }

    /// <summary>Cuts <paramref name="indices"/> (after a seeded shuffle) into consecutive parts of the given sizes; sizes must fit.</summary>
    public static long[][] Take(long[] indices, long seed, params int[] sizes)
    {
        if (sizes.Any(s => s < 0) || sizes.Sum() > indices.Length)
            throw new TbarException($"cannot take parts of sizes {string.Join("+", sizes)} from {indices.Length} indices");
        var order = Shuffle.Permutation(indices.Length, Shuffle.Generator(seed));
        var parts = new long[sizes.Length][];
        int at = 0;
        for (int p = 0; p < sizes.Length; p++)
        {
            parts[p] = order[at..(at + sizes[p])].Select(i => indices[i]).ToArray();
            at += sizes[p];
        }
        return parts;
    }
}
