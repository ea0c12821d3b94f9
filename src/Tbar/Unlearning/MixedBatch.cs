using static TorchSharp.torch;

namespace Tbar.Unlearning;

/// <summary>
/// A training batch drawn from two sources laid end to end: positions below <c>split</c> go to the first, the rest (shifted
/// down by <c>split</c>) to the second, and the parts are concatenated in that order. The clean + forget mixes of FT-relabel,
/// TBAR-refit's repair and the re-tuning attack are all this.
/// </summary>
public static class MixedBatch
{
    /// <summary>(B, 3, H, W) images and (B) labels: the first source's part, then the second's.</summary>
    public static (Tensor Images, Tensor Labels) Of(long[] positions, int split,
        Func<long[], (Tensor Images, Tensor Labels)> first, Func<long[], (Tensor Images, Tensor Labels)> second)
    {
        var inFirst = positions.Where(p => p < split).ToArray();
        var inSecond = positions.Where(p => p >= split).Select(p => p - split).ToArray();
        if (inSecond.Length == 0) return first(inFirst);
        if (inFirst.Length == 0) return second(inSecond);
        var (a, la) = first(inFirst);
        var (b, lb) = second(inSecond);
        using (a) using (la) using (b) using (lb) return (cat([a, b], 0), cat([la, lb], 0));
    }
}
