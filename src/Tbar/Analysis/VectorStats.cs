using Tbar.Arithmetic;

namespace Tbar.Analysis;

/// <summary>One block's numbers: norms of τ_t and τ_c, their cosine, and τ_t's share of its squared norm.</summary>
public sealed record BlockStats(string Block, long Parameters, double TriggerNorm, double CleanNorm, double Cosine, double TriggerEnergyShare);

/// <summary>Per-block and overall statistics of a trigger vector against a clean vector.</summary>
public sealed record VectorStatsResult(double TriggerNorm, double CleanNorm, double Cosine, IReadOnlyList<BlockStats> Blocks);

/// <summary>Norms and cosines of two task vectors over the same parameters, grouped by block.</summary>
public static class VectorStats
{
    /// <summary>
    /// The block a parameter belongs to: "block N" for transformer layer N, otherwise its first name part after the tower
    /// prefix ("conv1", "ln_pre", "proj", ...).
    /// </summary>
    public static string Block(string key)
    {
        var parts = key.Split('.');
        int at = parts[0] is "visual" or "text" ? 1 : 0;
        if (parts.Length > at + 2 && parts[at] == "transformer" && parts[at + 1] == "resblocks") return $"block {parts[at + 2]}";
        return parts[at];
    }

    public static VectorStatsResult Compute(TaskVector trigger, TaskVector clean)
    {
        var keys = trigger.Keys.ToList();
        var sums = VectorMaths.Sums(trigger, clean);
        double totalT = sums.Values.Sum(s => s.AA), totalC = sums.Values.Sum(s => s.BB), totalDot = sums.Values.Sum(s => s.AB);
        var blocks = keys.GroupBy(Block).Select(g =>
        {
            double t = g.Sum(k => sums[k].AA), c = g.Sum(k => sums[k].BB), dot = g.Sum(k => sums[k].AB);
            return new BlockStats(g.Key, g.Sum(k => sums[k].Count), Math.Sqrt(t), Math.Sqrt(c), VectorMaths.Cosine(dot, t, c),
                totalT == 0 ? 0 : t / totalT);
        }).OrderBy(b => Order(b.Block)).ThenBy(b => b.Block, StringComparer.Ordinal).ToList();
        return new VectorStatsResult(Math.Sqrt(totalT), Math.Sqrt(totalC), VectorMaths.Cosine(totalDot, totalT, totalC), blocks);
    }

    /// <summary>Input side first, transformer blocks in depth order, output side last.</summary>
    static int Order(string block) => block switch
    {
        "conv1" or "class_embedding" or "positional_embedding" or "ln_pre" => 0,
        _ when block.StartsWith("block ") => 1 + int.Parse(block[6..]),
        _ => 10_000,
    };
}
