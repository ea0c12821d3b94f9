using System.Text;
using Tbar.Attacks;
using Tbar.Io;
using Tbar.Pipelines;

namespace Tbar.Reporting;

/// <summary>The arithmetic experiment's table: mean ± std over seeds per (trigger, variant), with per-class CA.</summary>
public static class ArithmeticTable
{
    /// <summary>One summary row per (trigger, variant), in the order first seen.</summary>
    public static List<ArithmeticSummaryRow> Summary(IReadOnlyList<VariantResult> results) =>
        [.. Groups(results).Select(g => new ArithmeticSummaryRow(g.First().Attack, g.Key.Variant, g.First().Estimator, g.Count(),
            g.Count(r => r.Alpha > 0), g.Count(r => r.Feasible), Stat(g, r => r.Alpha), Stat(g, r => r.Test.Ca),
            Stat(g, r => r.Test.Asr ?? double.NaN), Stat(g, r => r.Test.TargetCa), Stat(g, r => r.Test.OthersCa), Stat(g, r => r.Retention),
            Stat(g, r => r.OthersRetention), Stat(g.Where(r => r.RelapseAsr != null), r => r.RelapseAsr!.Value)))];

    /// <summary>Writes table.md and results.json (options: <paramref name="o"/>) of `experiment arithmetic`; returns the table.</summary>
    public static string Save(ArithmeticOptions o, string command, IReadOnlyList<VariantResult> results, double seconds)
    {
        string table = Markdown(results);
        AtomicFile.WriteText(Path.Combine(o.Out, "table.md"), table);
        new RunRecord(command, o, 0, Summary(results), seconds).Save(Path.Combine(o.Out, "results.json"));
        return table;
    }

    /// <summary>Markdown: CA, ASR, target-class and other-class CA, retention, α and relapse, in %.</summary>
    public static string Markdown(IReadOnlyList<VariantResult> results)
    {
        var sb = new StringBuilder();
        sb.Append("| trigger | τ variant | α > 0 (feasible) | α | CA | ASR | target-class CA | other classes CA | retention | " +
            "others retention | relapse ASR |\n");
        sb.Append("|---|---|---|---|---|---|---|---|---|---|---|\n");
        foreach (var g in Groups(results))
        {
            var b = g.First().Backdoored;
            sb.Append($"| {g.Key.Attack} | {g.Key.Variant} | {g.Count(r => r.Alpha > 0)}/{g.Count()} ({g.Count(r => r.Feasible)}) | ");
            sb.Append($"{Fmt(g, r => r.Alpha, 1, "F2")} | {Fmt(g, r => r.Test.Ca)} | {Fmt(g, r => r.Test.Asr ?? double.NaN)} | ");
            sb.Append($"{Fmt(g, r => r.Test.TargetCa)} | {Fmt(g, r => r.Test.OthersCa)} | ");
            sb.Append($"{Fmt(g, r => r.Retention)} | {Fmt(g, r => r.OthersRetention)} | ");
            sb.Append($"{Fmt(g.Where(r => r.RelapseAsr != null), r => r.RelapseAsr!.Value)} |\n");
        }
        var backdoored = results.GroupBy(r => Trigger(r.Attack)).Select(g =>
            $"{g.Key}: CA {Fmt(g.DistinctBy(r => r.Seed), r => r.Backdoored.Ca)}, " +
            $"ASR {Fmt(g.DistinctBy(r => r.Seed), r => r.Backdoored.Asr ?? double.NaN)}, " +
            $"target-class CA {Fmt(g.DistinctBy(r => r.Seed), r => r.Backdoored.TargetCa)}, " +
            $"other classes {Fmt(g.DistinctBy(r => r.Seed), r => r.Backdoored.OthersCa)}");
        sb.Append("\nBackdoored models (test, before cleaning): ").Append(string.Join("; ", backdoored)).Append(".\n");
        return sb.ToString();
    }

    /// <summary>
    /// Rows grouped by (trigger name, variant). A cell folder is keyed by the trigger's name (<see cref="ArithmeticExperiment.CellDir"/>),
    /// so "blended" and "blended:ratio=0.2" typed in two runs are the one planted backdoor and one group.
    /// </summary>
    static IEnumerable<IGrouping<(string Attack, string Variant), VariantResult>> Groups(IReadOnlyList<VariantResult> results) =>
        results.GroupBy(r => (Trigger(r.Attack), r.Variant));

    static string Trigger(string attack) => TriggerSpec.Parse(attack).Name;

    static MeanStd? Stat(IEnumerable<VariantResult> rows, Func<VariantResult, double> f) => MeanStd.IfAny(rows.Select(f));

    static string Fmt(IEnumerable<VariantResult> rows, Func<VariantResult, double> f, double scale = 100, string format = "F1") =>
        MeanStd.Of(rows.Select(f)).Cell(scale, format);
}

/// <summary>
/// One (trigger, τ variant) over seeds: how many seeds ran, chose α &gt; 0 and met the rule, and mean ± std (with the
/// values) of α and the test numbers; null where no seed has the number (relapse is measured only when α &gt; 0).
/// </summary>
public sealed record ArithmeticSummaryRow(string Attack, string Variant, string Estimator, int Seeds, int AlphaPositive, int Feasible,
    MeanStd? Alpha, MeanStd? Ca, MeanStd? Asr, MeanStd? TargetCa, MeanStd? OthersCa, MeanStd? Retention, MeanStd? OthersRetention,
    MeanStd? RelapseAsr);
