using Tbar.Arithmetic;
using static TorchSharp.torch;

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
        var missing = keys.Except(clean.Keys).Concat(clean.Keys.Except(keys)).ToList();
        if (missing.Count > 0) throw new TbarException($"the two vectors cover different parameters (e.g. '{missing[0]}')");
        // Per key: ‖t‖², ‖c‖², t·c (double sums of float32 values).
        var sums = keys.ToDictionary(k => k, k =>
        {
            using var scope = NewDisposeScope();
            var t = trigger[k].to(ScalarType.Float64);
            var c = clean[k].to(ScalarType.Float64);
            if (!t.shape.SequenceEqual(c.shape)) throw new TbarException($"parameter '{k}': the vectors' shapes differ");
            return (T: t.square().sum().item<double>(), C: c.square().sum().item<double>(), Dot: (t * c).sum().item<double>(), N: t.numel());
        });
        double totalT = sums.Values.Sum(s => s.T), totalC = sums.Values.Sum(s => s.C), totalDot = sums.Values.Sum(s => s.Dot);
        var blocks = keys.GroupBy(Block).Select(g =>
        {
            double t = g.Sum(k => sums[k].T), c = g.Sum(k => sums[k].C), dot = g.Sum(k => sums[k].Dot);
            return new BlockStats(g.Key, g.Sum(k => sums[k].N), Math.Sqrt(t), Math.Sqrt(c), Cos(dot, t, c), totalT == 0 ? 0 : t / totalT);
        }).OrderBy(b => Order(b.Block)).ThenBy(b => b.Block, StringComparer.Ordinal).ToList();
        return new VectorStatsResult(Math.Sqrt(totalT), Math.Sqrt(totalC), Cos(totalDot, totalT, totalC), blocks);
    }

    static double Cos(double dot, double a2, double b2) => a2 == 0 || b2 == 0 ? 0 : dot / Math.Sqrt(a2 * b2);

    /// <summary>Input side first, transformer blocks in depth order, output side last.</summary>
    static int Order(string block) => block switch
    {
        "conv1" or "class_embedding" or "positional_embedding" or "ln_pre" => 0,
        _ when block.StartsWith("block ") => 1 + int.Parse(block[6..]),
        _ => 10_000,
    };
}
