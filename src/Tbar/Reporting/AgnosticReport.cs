using System.Text;
using Tbar.Inversion;
using Tbar.Io;
using Tbar.Pipelines;

namespace Tbar.Reporting;

/// <summary>What `tbar experiment agnostic` writes: results.json and table.md.</summary>
public static class AgnosticReport
{
    /// <summary>results.json (every row with its scan summary and cleaned models) and table.md.</summary>
    public static void Save(string outDir, string command, IReadOnlyList<AgnosticRow> rows, AgnosticOptions o, ScanCalibration calibration,
        double seconds)
    {
        var settings = new AgnosticSettings(o.Model, o.Triggers, o.Seeds, o.CalibrationSeeds, o.Target, o.ScanSettings);
        new RunRecord(command, settings, o.Seeds.FirstOrDefault(), new AgnosticResults(calibration, [.. rows.Select(AgnosticRowRecord.From)]),
            seconds).Save(Path.Combine(outDir, "results.json"));
        AtomicFile.WriteText(Path.Combine(outDir, "table.md"), Markdown(rows, calibration));
    }

    /// <summary>The README's attack-agnostic table.</summary>
    public static string Markdown(IReadOnlyList<AgnosticRow> rows, ScanCalibration calibration)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"Threshold PL1 < {calibration.Threshold:P2} ({calibration.Rule}; clean models: " +
            string.Join(", ", calibration.CleanModels.Select(m => $"{m.Model} {m.Pl1:P2}")) + ").\n");
        string[] methods = [.. Agnostic.ProxyMethods.Select(m => $"{m} (inverted)"), "tbar (known trigger)"];
        sb.AppendLine("| seed | planted trigger | test CA / ASR | PL1 | verdict | inferred target (share) | " +
            string.Join(" | ", methods.Select(m => $"{m}: CA / ASR / retention")) + " |");
        sb.AppendLine("|---|---|---|---|---|---|" + string.Concat(methods.Select(_ => "---|")));
        foreach (var r in rows)
        {
            string Cell(string name)
            {
                var c = r.Cleaned.FirstOrDefault(x => x.Name == name);
                if (c == null) return "-";
                double retention = c.Test.CleanAccuracy.Value / r.Model.Test.CleanAccuracy.Value;
                return $"{c.Test.CleanAccuracy.Value:P1} / {c.Test.AttackSuccess?.Value:P1} / {retention:P1}";
            }
            bool right = r.Verdict.Backdoored == r.ReallyBackdoored;
            string verdict = $"{(r.Verdict.Backdoored ? "backdoored" : "clean")} ({(right ? "right" : "wrong")})";
            sb.AppendLine($"| {r.Seed} | {r.Trigger} | {r.Model.Test.CleanAccuracy.Value:P1} / {r.Model.Test.AttackSuccess?.Value:P1} | " +
                $"{r.Verdict.Pl1:P2} | {verdict} | {r.Verdict.TargetName} ({r.Verdict.TargetShare.Value:P0}) | " +
                string.Join(" | ", methods.Select(Cell)) + " |");
        }
        return sb.ToString();
    }
}

/// <summary>The options part of the agnostic experiment's results.json.</summary>
public sealed record AgnosticSettings(string Model, string[] Triggers, long[] Seeds, long[] CalibrationSeeds, string Target, ScanOptions Scan);

/// <summary>The results part: the scan calibration used and one record per scanned model.</summary>
public sealed record AgnosticResults(ScanCalibration Calibration, IReadOnlyList<AgnosticRowRecord> Rows);

/// <summary>One scanned model: what was planted, the scan's verdict, the model's test numbers and each cleaning of it.</summary>
public sealed record AgnosticRowRecord(long Seed, string Trigger, bool ReallyBackdoored, ScanSummary Scan, AgnosticModelRecord Model,
    IReadOnlyList<AgnosticCleanedRecord> Cleaned)
{
    public static AgnosticRowRecord From(AgnosticRow r) => new(r.Seed, r.Trigger, r.ReallyBackdoored, ScanSummary.From(r.Verdict),
        new AgnosticModelRecord(r.Model.Test.CleanAccuracy.Value, r.Model.Test.AttackSuccess?.Value, r.Model.Seconds),
        [.. r.Cleaned.Select(c => AgnosticCleanedRecord.From(c, r.Model.Test.CleanAccuracy.Value))]);
}

/// <summary>The scanned model's test CA and ASR, and how long making it took.</summary>
public sealed record AgnosticModelRecord(double Ca, double? Asr, double Seconds);

/// <summary>One cleaning: test CA, ASR, retention (CA / the scanned model's CA), α, time and the validation choice.</summary>
public sealed record AgnosticCleanedRecord(string Method, double Ca, double? Asr, double Retention, double? Alpha, double Seconds, string Choice)
{
    public static AgnosticCleanedRecord From(TestRow c, double modelCa) => new(c.Name, c.Test.CleanAccuracy.Value, c.Test.AttackSuccess?.Value,
        c.Test.CleanAccuracy.Value / modelCa, c.Alpha, c.Seconds, c.Choice);
}
