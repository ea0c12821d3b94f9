using System.Text;
using Tbar.Evaluation;
using Tbar.Io;
using Tbar.Pipelines;

namespace Tbar.Reporting;

/// <summary>The options part of `experiment attacks`' results.json.</summary>
/// <param name="Target">Target class as typed.</param>
/// <param name="PoisonRate">Poisoned share of the training set, e.g. 0.03.</param>
/// <param name="Model">The clean model every row starts from.</param>
public sealed record AttackTableSettings(string Target, double PoisonRate, string Model);

/// <summary>One row of results.json: setting, trigger spec ("-" for none), test metrics and training seconds.</summary>
public sealed record AttackTableRow(string Setting, string Trigger, MetricsRecord Metrics, double Seconds)
{
    public static AttackTableRow From(AttackRow r) => new(r.Setting, r.Trigger, MetricsRecord.From(r.Metrics), r.Seconds);
}

/// <summary>What `tbar experiment attacks` writes: results.json, table.md and, per optimised trigger, &lt;name&gt;/patch.png.</summary>
public static class AttackTable
{
    /// <summary>Writes the folder's files; returns the Markdown table.</summary>
    public static string Save(string outDir, string command, AttackTableSettings settings, long seed, AttackExperimentResult result,
        double seconds)
    {
        foreach (var (name, patch) in result.Patches) ImageFile.SavePng(Path.Combine(outDir, name, "patch.png"), patch);
        var rows = result.Rows.Select(AttackTableRow.From).ToList();
        new RunRecord(command, settings, seed, rows, seconds).Save(Path.Combine(outDir, "results.json"));
        string table = Markdown(rows, settings);
        AtomicFile.WriteText(Path.Combine(outDir, "table.md"), table);
        return table;
    }

    /// <summary>The README's attack table: CA, ASR and BD-ACC in %, "-" where a row has no trigger.</summary>
    public static string Markdown(IReadOnlyList<AttackTableRow> rows, AttackTableSettings settings)
    {
        var sb = new StringBuilder($"Target '{settings.Target}', poison rate {settings.PoisonRate:P0} of half B (30,000 images), ");
        sb.Append("test split 10,000 images.\n\n");
        sb.Append("| setting | trigger | CA | ASR | BD-ACC | train s |\n|---|---|---|---|---|---|\n");
        foreach (var r in rows)
            sb.Append($"| {r.Setting} | `{r.Trigger}` | {r.Metrics.Ca:P2} | {Percent(r.Metrics.Asr)} | {Percent(r.Metrics.BdAcc)} | ")
              .Append($"{r.Seconds:F0} |\n");
        return sb.ToString();
    }

    static string Percent(double? v) => v is double x ? x.ToString("P2") : "-";
}
