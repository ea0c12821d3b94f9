namespace Tbar;

/// <summary>Seeded permutations: every index order in Tbar (splits, poisoned images, batches) comes from here.</summary>
public static class Shuffle
{
    /// <summary>A seeded permutation of 0..count-1 (Fisher–Yates).</summary>
    public static long[] Permutation(int count, Random rng)
    {
        var order = new long[count];
        for (int i = 0; i < count; i++) order[i] = i;
        for (int i = count - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>The generator a 64-bit seed stands for (its low 31 bits, as everywhere in Tbar).</summary>
    public static Random Generator(long seed) => new((int)(seed & 0x7fffffff));
}
