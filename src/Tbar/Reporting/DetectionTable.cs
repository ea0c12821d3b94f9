using System.Globalization;
using System.Text;
using Tbar.Evaluation;
using Tbar.Inversion;
using Tbar.Io;
using Tbar.Pipelines;

namespace Tbar.Reporting;

/// <summary>
/// One (model, attack) line of the detection table. The AUROCs take that attack's backdoored seeds as positives and the held-out
/// clean models of the same architecture as negatives (null when either side is empty); TPR is the share of seeds the verdict
/// flagged at the calibration's threshold; the FPR is the held-out clean models' flagged share with its Clopper–Pearson 95 %
/// upper bound (the same for every attack of a model).
/// </summary>
public sealed record DetectionSummaryRow(string Model, string Attack, int Seeds, int Negatives, double? AurocDecree, double? AurocWarp,
    double? AurocScore, int Flagged, double Tpr, FprCheck? Fpr, int TargetRight, double MeanScanSeconds, long PeakRssBytes);

/// <summary>One (model, attack, method) line of the cleaning table: mean ± std over the flagged seeds it ran on.</summary>
public sealed record CleaningSummaryRow(string Model, string Attack, string Method, int Seeds, MeanStd Asr, MeanStd Ca, MeanStd Retention,
    MeanStd TargetCa, MeanStd RelapseAsr, MeanStd BackdooredAsr);

/// <summary>results.json of the detection experiment: the summaries and every row they come from.</summary>
public sealed record DetectionResults(IReadOnlyList<DetectionSummaryRow> Summary, IReadOnlyList<CleaningSummaryRow> Cleaning,
    IReadOnlyList<DetectionRow> Rows, IReadOnlyList<HeldOutRow> HeldOut, IReadOnlyList<CleaningRow> CleaningRows);

/// <summary>The detection experiment's table.md and results.json, made from every finished cell under its folder.</summary>
public static class DetectionTable
{
    /// <summary>Per (model, attack): detection quality against the held-out clean models of the model's architecture.</summary>
    public static List<DetectionSummaryRow> Summary(IReadOnlyList<DetectionRow> rows, IReadOnlyList<HeldOutRow> heldOut) =>
        [.. rows.GroupBy(r => (r.Model, r.Attack)).Select(g =>
        {
            var positives = g.ToList();
            var negatives = heldOut.Where(h => h.Architecture == positives[0].Architecture).ToList();
            double? Auroc(Func<ScanScore, double> statistic) => negatives.Count == 0 ? null
                : DetectionStats.Auroc([.. positives.Select(p => statistic(p.Scan))], [.. negatives.Select(n => statistic(n.Scan))]);
            int flagged = positives.Count(p => p.Scan.Flagged);
            return new DetectionSummaryRow(g.Key.Model, g.Key.Attack, positives.Count, negatives.Count, Auroc(s => -s.Pl1),
                Auroc(s => s.WarpSimilarity), Auroc(s => s.Score), flagged, (double)flagged / positives.Count,
                negatives.Count == 0 ? null : FprCheck.Of(negatives.Count(n => n.Scan.Flagged), negatives.Count),
                positives.Count(p => p.TargetRight), positives.Average(p => p.Scan.Seconds), positives.Max(p => p.Scan.Peak.Bytes));
        })];

    /// <summary>Per (model, attack, method): the cleanings on the inverted trigger, mean ± std over seeds.</summary>
    public static List<CleaningSummaryRow> Cleaning(IReadOnlyList<CleaningRow> rows) =>
        [.. rows.GroupBy(r => (r.Model, r.Attack, r.Method)).Select(g => new CleaningSummaryRow(g.Key.Model, g.Key.Attack, g.Key.Method,
            g.Count(), MeanStd.Of(g.Select(r => r.Asr)), MeanStd.Of(g.Select(r => r.Ca)), MeanStd.Of(g.Select(r => r.Retention)),
            MeanStd.Of(g.Select(r => r.TargetCa)), MeanStd.Of(g.Select(r => r.RelapseAsr)), MeanStd.Of(g.Select(r => r.BackdooredAsr))))];

    public static string Markdown(IReadOnlyList<DetectionRow> rows, IReadOnlyList<HeldOutRow> heldOut, IReadOnlyList<CleaningRow> cleaning)
    {
        var sb = new StringBuilder("# Detection\n\n");
        sb.Append("Positives: each attack's backdoored seeds. Negatives: the held-out clean models of the model's architecture. ");
        sb.Append("AUROC of DECREE's statistic (−PL1), of the warp similarity and of the verdict's score; TPR and FPR at the ");
        sb.Append("calibration's threshold, FPR with its Clopper–Pearson 95 % upper bound. Peak RSS: the largest over the seeds.\n\n");
        sb.Append("| model | attack | n | AUROC DECREE | AUROC warp | AUROC score | TPR | FPR held-out (95 % bound) | target right | ");
        sb.Append("scan s | peak RSS |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
        foreach (var s in Summary(rows, heldOut))
        {
            string fpr = s.Fpr is { } f ? $"{f.Flagged}/{f.Total} ({P(f.Upper95)})" : "-";
            sb.Append($"| {s.Model} | {s.Attack} | {s.Seeds} | {A(s.AurocDecree)} | {A(s.AurocWarp)} | {A(s.AurocScore)} | ");
            sb.Append($"{s.Flagged}/{s.Seeds} | {fpr} | {s.TargetRight}/{s.Seeds} | {Num(s.MeanScanSeconds, "F0")} | ");
            sb.Append($"{Num(s.PeakRssBytes / 1048576.0, "F0")} MB |\n");
        }
        if (heldOut.Count > 0)
        {
            sb.Append("\nHeld-out clean models: ").Append(string.Join(", ", heldOut.GroupBy(h => h.Architecture).Select(g =>
                $"{g.Count()} of '{g.Key}', {g.Count(h => h.Scan.Flagged)} flagged"))).Append(".\n");
        }
        if (cleaning.Count == 0) return sb.ToString();
        sb.Append("\n## Cleaning on the inverted trigger\n\nFlagged models cleaned on the scan's best inverted trigger and inferred ");
        sb.Append("target; measured with the real trigger and target on the test split (%, mean ± std over seeds).\n\n");
        sb.Append("| model | attack | method | n | ASR before | ASR | retention | target-class CA | relapse ASR |\n");
        sb.Append("|---|---|---|---|---|---|---|---|---|\n");
        foreach (var c in Cleaning(cleaning))
            sb.Append($"| {c.Model} | {c.Attack} | {c.Method} | {c.Seeds} | {c.BackdooredAsr.Percent()} | {c.Asr.Percent()} | ")
                .Append($"{c.Retention.Percent()} | {c.TargetCa.Percent()} | {c.RelapseAsr.Percent()} |\n");
        return sb.ToString();
    }

    /// <summary>Writes table.md and results.json from every finished cell under <paramref name="outDir"/>; returns the table.</summary>
    public static string Write(string outDir, string command, DetectionOptions? options, double seconds)
    {
        if (!Directory.Exists(outDir)) throw new TbarException($"{outDir}: no such folder");
        var (rows, heldOut, cleaning) = DetectionExperiment.Collect(outDir);
        if (rows.Count == 0 && heldOut.Count == 0)
            throw new TbarException($"{outDir}: no finished cells of `tbar experiment detection` (…/MODEL/ATTACK/seedK/detection.json)");
        string table = Markdown(rows, heldOut, cleaning);
        AtomicFile.WriteText(Path.Combine(outDir, "table.md"), table);
        new RunRecord(command, (object?)options ?? new { merged_from = outDir }, 0,
            new DetectionResults(Summary(rows, heldOut), Cleaning(cleaning), rows, heldOut, cleaning), seconds)
            .Save(Path.Combine(outDir, "results.json"));
        return table;
    }

    static string A(double? auroc) => auroc is { } a ? Num(a, "F3") : "-";

    static string P(double rate) => Num(100 * rate, "F1") + " %";

    static string Num(double x, string format) => x.ToString(format, CultureInfo.InvariantCulture);
}
