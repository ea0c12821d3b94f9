using System.Globalization;
using System.Text;
using Tbar.Pipelines;

namespace Tbar.Reporting;

/// <summary>
/// The main table's weight-space columns (rows measured with them): ‖τ‖, the linearisation gap at τ and at the chosen −α·τ, the
/// linearised model's validation numbers, and the straight path θ_b → θ_out (distance, cos with τ, clean-loss barrier), beside
/// relapse and re-tune ASR, mean ± std over seeds.
/// </summary>
public static class WeightSpaceTable
{
    /// <summary>Markdown, one section per (model, attack); empty when no row carries these columns.</summary>
    public static string Markdown(IReadOnlyList<MainRow> rows)
    {
        var measured = rows.Where(r => r.Path != null || r.Linear != null).ToList();
        if (measured.Count == 0) return "";
        var sb = new StringBuilder();
        foreach (var cell in measured.GroupBy(r => (r.Model, r.Attack)))
        {
            sb.Append($"\n**{cell.Key.Model}, {cell.Key.Attack}**\n\n");
            sb.Append("| method | n | ‖τ‖ | gap at τ | gap at −ατ | linear model val CA | linear model val ASR | ‖θ_out − θ_b‖ | " +
                "cos(θ_out − θ_b, τ) | " +
                "barrier | relapse ASR | re-tune k=10 ASR |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
            foreach (var g in cell.GroupBy(r => r.Method))
            {
                string M(Func<MainRow, double?> f, string format) =>
                    MeanStd.IfAny(g.Select(f).Where(v => v != null).Select(v => v!.Value)) is { } m ? m.Cell(1, format,
                        CultureInfo.InvariantCulture) : "–";
                string P(Func<MainRow, double?> f) => MeanStd.IfAny(g.Select(f).Where(v => v != null).Select(v => v!.Value))?.Percent() ?? "–";
                sb.Append($"| {g.Key} | {g.Count()} | {M(r => r.TauNorm, "G3")} | {M(r => r.Linear?.Gap, "F3")} | " +
                    $"{M(r => r.Linear?.GapAtAlpha, "F3")} | " +
                    $"{P(r => r.Linear?.LinearCa.Value)} | {P(r => r.Linear?.LinearAsr.Value)} | {M(r => r.Path?.Distance, "G3")} | " +
                    $"{M(r => r.Path?.TauCosine, "F3")} | {M(r => r.Path?.Barrier, "G3")} | {P(r => r.RelapseAsr)} | " +
                    $"{P(r => r.RetuneAsr?.GetValueOrDefault("10"))} |\n");
            }
        }
        return sb.ToString().TrimStart('\n');
    }
}
