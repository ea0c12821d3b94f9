using System.Globalization;
using System.Text;
using Tbar.Pipelines;

namespace Tbar.Reporting;

/// <summary>The two-backdoor table: per (variant, strategy), mean ± std over seeds of α, CA, each backdoor's ASR and target CA.</summary>
public static class ComposeTable
{
    public static string Markdown(IReadOnlyList<ComposeResult> results, IReadOnlyList<string> backdoors)
    {
        int n = backdoors.Count;
        var sb = new StringBuilder("| τ variant | strategy | feasible | α |  CA | retention |");
        for (int k = 0; k < n; k++) sb.Append($" ASR {backdoors[k]} | target CA {backdoors[k]} |");
        sb.Append(" other classes CA |\n|---|---|---|---|---|---|").Append(string.Concat(Enumerable.Repeat("---|---|", n))).Append("---|\n");
        var seeds = results.DistinctBy(r => r.Seed).ToList();
        sb.Append($"| - | backdoored | - | - | {P(seeds, r => r.Backdoored.Ca)} | - |");
        for (int k = 0; k < n; k++) sb.Append($" {P(seeds, r => r.Backdoored.Asr[k])} | {P(seeds, r => r.Backdoored.TargetCa[k])} |");
        sb.Append($" {P(seeds, r => r.Backdoored.OthersCa)} |\n");
        foreach (var g in results.GroupBy(r => r.Variant))
            foreach (var strategy in g.First().Strategies.Select(s => s.Strategy))
            {
                var rows = g.Select(r => r.Strategies.Single(s => s.Strategy == strategy)).ToList();
                string alphas = string.Join(" / ", Enumerable.Range(0, n).Select(k => Mean(rows, s => s.Alphas[k], 1, "F2")));
                sb.Append($"| {g.Key} | {strategy} | {rows.Count(s => s.Feasible)}/{rows.Count} | {alphas} | {Mean(rows, s => s.Ca)} | ");
                sb.Append($"{Mean(rows, s => s.Retention)} |");
                for (int k = 0; k < n; k++) sb.Append($" {Mean(rows, s => s.Asr[k])} | {Mean(rows, s => s.TargetCa[k])} |");
                sb.Append($" {Mean(rows, s => s.OthersCa)} |\n");
            }
        return sb.ToString();
    }

    static string P(IEnumerable<ComposeResult> rows, Func<ComposeResult, double> f) => Format(rows.Select(f).ToArray(), 100, "F1");

    static string Mean(IEnumerable<ComposeRow> rows, Func<ComposeRow, double> f, double scale = 100, string format = "F1") =>
        Format(rows.Select(f).ToArray(), scale, format);

    static string Format(double[] xs, double scale, string format) => MeanStd.Of(xs).Cell(scale, format, CultureInfo.InvariantCulture);
}
