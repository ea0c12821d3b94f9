using System.Globalization;
using System.Text;
using Tbar.Io;
using Tbar.Pipelines;

namespace Tbar.Reporting;

/// <summary>One (model, attack, method) line of the main table: mean and std over seeds of each measure.</summary>
public sealed record MainSummaryRow(string Model, string Attack, string Method, int Seeds, int AlphaPositive, int Feasible, MeanStd? Alpha,
    MeanStd Ca, MeanStd? Asr, MeanStd TargetCa, MeanStd OthersCa, MeanStd Retention, MeanStd OthersRetention, MeanStd? RelapseAsr,
    IReadOnlyDictionary<string, MeanStd>? RetuneAsr);

/// <summary>The main experiment's table: every (model, attack, method), mean ± std over seeds, in %.</summary>
public static class MainTable
{
    public static List<MainSummaryRow> Summary(IReadOnlyList<MainRow> rows) => rows.GroupBy(r => (r.Model, r.Attack, r.Method)).Select(g =>
    {
        var ks = g.Where(r => r.RetuneAsr != null).SelectMany(r => r.RetuneAsr!.Keys).Distinct();
        return new MainSummaryRow(g.Key.Model, g.Key.Attack, g.Key.Method, g.Count(), g.Count(r => r.Negated), g.Count(r => r.Feasible == true),
            MeanStd.IfAny(g.Where(r => r.Alpha != null).Select(r => r.Alpha!.Value)), MeanStd.IfAny(g.Select(r => r.Ca))!,
            MeanStd.IfAny(g.Where(r => r.Asr != null).Select(r => r.Asr!.Value)), MeanStd.IfAny(g.Select(r => r.TargetCa))!,
            MeanStd.IfAny(g.Select(r => r.OthersCa))!, MeanStd.IfAny(g.Select(r => r.Retention))!,
            MeanStd.IfAny(g.Select(r => r.OthersRetention))!,
            MeanStd.IfAny(g.Where(r => r.RelapseAsr != null).Select(r => r.RelapseAsr!.Value)),
            ks.ToDictionary(k => k, k => MeanStd.IfAny(g.Where(r => r.RetuneAsr?.ContainsKey(k) == true).Select(r => r.RetuneAsr![k]))!));
    }).ToList();

    /// <summary>
    /// Writes table.md, comparison.md (when there is a comparison) and results.json from every finished row under
    /// <paramref name="outDir"/>; <paramref name="options"/> are the run's, or null when merging cells run elsewhere. Returns the table.
    /// </summary>
    public static string Write(string outDir, string command, MainOptions? options, double seconds)
    {
        if (!Directory.Exists(outDir)) throw new TbarException($"{outDir}: no such folder");
        var rows = MainExperiment.Collect(outDir);
        if (rows.Count == 0) throw new TbarException($"{outDir}: no finished rows of `tbar experiment main` (…/MODEL/ATTACK/seedK/*.json)");
        string table = Markdown(rows);
        AtomicFile.WriteText(Path.Combine(outDir, "table.md"), table);
        string comparison = Comparison(rows);
        if (comparison.Length > 0) AtomicFile.WriteText(Path.Combine(outDir, "comparison.md"), comparison);
        string weightSpace = WeightSpaceTable.Markdown(rows);
        if (weightSpace.Length > 0)
        {
            AtomicFile.WriteText(Path.Combine(outDir, "weight-space.md"), weightSpace);
            Plots.GapScatter(Path.Combine(outDir, "gap.png"), rows, "relapse and target-class CA against the linearisation gap");
        }
        new RunRecord(command, (object?)options ?? new { merged_from = outDir }, 0, new MainResults(Summary(rows), rows), seconds)
            .Save(Path.Combine(outDir, "results.json"));
        return table;
    }

    /// <summary>
    /// Markdown, one section per (model, attack). Each row states its own number of seeds n (rows of one section can have
    /// different n while seeds are unfinished), and a cell measured in fewer seeds than its row says how many, "m ± s (k)".
    /// The α column says how many seeds chose α &gt; 0: a row whose α is 0 in every seed is a repair, whatever the method is called.
    /// </summary>
    public static string Markdown(IReadOnlyList<MainRow> rows)
    {
        var summary = Summary(rows);
        var ks = summary.Where(s => s.RetuneAsr != null).SelectMany(s => s.RetuneAsr!.Keys).Distinct().OrderBy(int.Parse).ToList();
        var sb = new StringBuilder();
        foreach (var cell in summary.GroupBy(s => (s.Model, s.Attack)))
        {
            sb.Append($"\n**{cell.Key.Model}, {cell.Key.Attack}** ({SeedCount(cell.Min(s => s.Seeds), cell.Max(s => s.Seeds))})\n\n");
            sb.Append("| method | n | α > 0 | α | CA | ASR | target-class CA | other classes CA | retention | relapse ASR |");
            foreach (var k in ks) sb.Append($" re-tune k={k} ASR |");
            sb.Append("\n|---|---|---|---|---|---|---|---|---|---|").Append(string.Concat(ks.Select(_ => "---|"))).Append('\n');
            foreach (var s in cell)
            {
                string P(MeanStd? m) => Of(m, s.Seeds, m => m.Percent());
                string alpha = Of(s.Alpha, s.Seeds, m => m.Cell(1, "F2", CultureInfo.InvariantCulture));
                sb.Append($"| {s.Method} | {s.Seeds} | {Negated(s)} | {alpha} | {P(s.Ca)} | {P(s.Asr)} | {P(s.TargetCa)} | ");
                sb.Append($"{P(s.OthersCa)} | {P(s.Retention)} | {P(s.RelapseAsr)} |");
                foreach (var k in ks) sb.Append($" {P(s.RetuneAsr?.GetValueOrDefault(k))} |");
                sb.Append('\n');
            }
        }
        return sb.ToString().TrimStart('\n');
    }

    /// <summary>
    /// The models side by side: for every attack run on more than one model, each method the models share gets one line per
    /// model, next to each other (mean ± std over that model's seeds, n per line). Empty when no attack has two models.
    /// </summary>
    public static string Comparison(IReadOnlyList<MainRow> rows)
    {
        var summary = Summary(rows);
        var sb = new StringBuilder();
        foreach (var attack in summary.GroupBy(s => s.Attack).Where(g => g.Select(s => s.Model).Distinct().Count() > 1))
        {
            var models = attack.Select(s => s.Model).Distinct().ToList();
            var shared = attack.GroupBy(s => s.Method).Where(m => m.Select(s => s.Model).Distinct().Count() == models.Count);
            foreach (var method in shared)
                foreach (var s in method.OrderBy(s => models.IndexOf(s.Model)))
                {
                    string P(MeanStd? m) => Of(m, s.Seeds, m => m.Percent());
                    sb.Append($"| {attack.Key} | {s.Method} | {s.Model} | {s.Seeds} | {Negated(s)} | {P(s.Asr)} | {P(s.Retention)} | ");
                    sb.Append($"{P(s.TargetCa)} | {P(s.OthersCa)} | {P(s.RelapseAsr)} |\n");
                }
        }
        const string header = "| attack | method | model | n | α > 0 | ASR | retention | target-class CA | other classes CA | relapse ASR |\n";
        return sb.Length == 0 ? "" : header + "|---|---|---|---|---|---|---|---|---|---|\n" + sb;
    }

    /// <summary>The "α > 0" cell: how many of the seeds with an α chose one above 0, "-" for rows without α.</summary>
    static string Negated(MainSummaryRow s) => s.Alpha == null ? "-" : $"{s.AlphaPositive}/{s.Alpha.Values.Length}";

    /// <summary>"3 seeds", "1 seed", or "1–3 seeds" when the rows of a section have different n.</summary>
    static string SeedCount(int fewest, int most) => fewest == most ? $"{most} seed{(most == 1 ? "" : "s")}" : $"{fewest}–{most} seeds";

    /// <summary>The cell of one measure: "-" when never measured, "m ± s (k)" when measured in k seeds of the row's n.</summary>
    static string Of(MeanStd? m, int n, Func<MeanStd, string> format) =>
        m == null ? "-" : m.Values.Length == n ? format(m) : $"{format(m)} ({m.Values.Length})";
}

/// <summary>The results part of the main experiment's results.json: the summary over seeds, then every row.</summary>
public sealed record MainResults(IReadOnlyList<MainSummaryRow> Summary, IReadOnlyList<MainRow> Rows);
