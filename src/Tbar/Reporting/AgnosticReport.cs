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
        var results = rows.Select(r => new
        {
            seed = r.Seed, trigger = r.Trigger, really_backdoored = r.ReallyBackdoored, scan = ScanSummary.From(r.Verdict),
            model = new { ca = r.Model.Test.CleanAccuracy.Value, asr = r.Model.Test.AttackSuccess?.Value, seconds = r.Model.Seconds },
            cleaned = r.Cleaned.Select(c => new
            {
                method = c.Name, ca = c.Test.CleanAccuracy.Value, asr = c.Test.AttackSuccess?.Value,
                retention = c.Test.CleanAccuracy.Value / r.Model.Test.CleanAccuracy.Value,
                alpha = c.Alpha, seconds = c.Seconds, choice = c.Choice,
            }),
        });
        new RunRecord(command, new { o.Model, o.Triggers, o.Seeds, o.CalibrationSeeds, o.Target, scan = o.ScanSettings }, o.Seeds.FirstOrDefault(),
            new { calibration, rows = results }, seconds).Save(Path.Combine(outDir, "results.json"));
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
