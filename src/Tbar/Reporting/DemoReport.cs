using System.Text;
using Tbar.Evaluation;
using Tbar.Io;
using Tbar.Pipelines;

namespace Tbar.Reporting;

/// <summary>results.json, report.md and plots of a demo run.</summary>
public static class DemoReport
{
    /// <summary>The results.json shape: backdoored, clean_reference, methods.&lt;name&gt; with ca, asr, bd_acc, alpha, seconds.</summary>
    public static DemoRecord Results(DemoResult r) => DemoRecord.From(r);

    /// <summary>The Markdown report: setting, metric definitions, the table, and the α choice.</summary>
    public static string Markdown(DemoResult r, DemoOptions o)
    {
        var sb = new StringBuilder("# Tbar demo\n\n");
        sb.Append($"Model `{o.Model}`, data `{o.Data}`, trigger `{r.Attack.TriggerSpec}`, target `{r.Attack.TargetName}`, ")
          .Append($"poison rate {o.PoisonRate:P0} ({r.Attack.PoisonedCount} of {r.Attack.TrainCount} images), seed {o.Seed}.\n\n");
        sb.Append("CA: share of clean test images classified correctly. ASR: share of triggered test images whose true class is not ")
          .Append("the target that are classified as the target. BD-ACC: share of those classified as their true class. ")
          .Append("Retention: cleaned CA / backdoored CA. Target / others: clean accuracy on the target class alone and on the other ")
          .Append("classes pooled. Relapse ASR: test ASR after a short clean fine-tune (1 epoch, 2k images) of the cleaned model. ")
          .Append("A row whose α is 0 was not changed by negation: whatever it does, the arithmetic did not do it.\n\n");
        sb.Append("| model | CA | ASR | BD-ACC | target CA | others CA | retention | α | relapse ASR | seconds |\n|---|---|---|---|---|---|---|---|---|---|\n");
        var b = r.Backdoored.Test;
        int t = r.Attack.Target;
        sb.Append(Line("pretrained", r.Pretrained, null, null, 0, b, t));
        if (r.CleanReference != null) sb.Append(Line("clean fine-tune (reference)", r.CleanReference.Test, null, null, r.CleanReference.Seconds, b, t));
        sb.Append(Line("backdoored", r.Backdoored.Test, null, null, r.Backdoored.Seconds, b, t));
        foreach (var m in r.Methods) sb.Append(Line(m.Name, m.Test, m.Alpha, m.RelapseAsr, m.Seconds, b, t));
        if (r.Scan != null)
            sb.Append("\n## Attack-agnostic scan\n\n").Append(r.Scan.Summary).Append(". Rows marked \"(inverted)\" were cleaned on the inverted ")
              .Append("trigger and the inferred target; their test ASR uses the real trigger. Mask and pattern: `scan/mask.png`, `scan/pattern.png`.\n");
        sb.Append("\n## Choices (validation only)\n\n");
        foreach (var m in r.Methods) sb.Append($"- **{m.Name}**: {m.Choice}\n");
        sb.Append("\nSplit sizes: ").Append(string.Join(", ", r.SplitSizes.Select(p => $"{p.Key} {p.Value}"))).Append(".\n");
        sb.Append("\n## Recommendation\n\n").Append(Recommendation.For(r).Text).Append('\n');
        return sb.ToString();
    }

    static string Line(string name, AttackMetrics m, double? alpha, double? relapse, double seconds, AttackMetrics b, int target) =>
        $"| {name} | {m.CleanAccuracy.Value:P2} | {Pct(m.AttackSuccess?.Value)} | {Pct(m.BackdoorAccuracy?.Value)} | " +
        $"{Pct(m.TargetClass(target)?.Value)} | {Pct(m.OtherClasses(target)?.Value)} | " +
        $"{m.CleanAccuracy.Value / b.CleanAccuracy.Value:P1} | {(alpha is double a ? a.ToString("G3") : "-")} | {Pct(relapse)} | {seconds:F1} |\n";

    static string Pct(double? v) => v is double x ? x.ToString("P2") : "-";

    /// <summary>
    /// Writes the folder <paramref name="dir"/> as a whole (<see cref="AtomicFolder"/>): results.json (as a run record),
    /// report.md, alpha-&lt;method&gt;.png, methods.png and, after a scan, scan/.
    /// </summary>
    public static void Write(string dir, DemoResult r, DemoOptions o, string commandLine, double seconds) =>
        AtomicFolder.Write(dir, "results.json", stage => WriteInto(stage, r, o, commandLine, seconds), o.Model);

    static void WriteInto(string dir, DemoResult r, DemoOptions o, string commandLine, double seconds)
    {
        new RunRecord(commandLine, o, o.Seed, Results(r), seconds).Save(Path.Combine(dir, "results.json"));
        AtomicFile.WriteText(Path.Combine(dir, "report.md"), Markdown(r, o));
        var curves = r.Records.Where(p => p.Value.Alpha is { Curve.Count: > 1 }).Select(p => (p.Key, p.Value.Alpha!)).ToList();
        foreach (var (name, choice) in curves)
            Plots.AlphaCurve(Path.Combine(dir, $"alpha-{name}.png"), choice, $"{name}: validation CA/ASR against α");
        if (curves.Count > 0) Plots.AlphaCurves(Path.Combine(dir, "alpha.png"), curves, "every arithmetic method: validation curves, chosen α dashed");
        var bars = new List<(string, double, double, double?)>
            { ("backdoored", r.Backdoored.Test.CleanAccuracy.Value, r.Backdoored.Test.AttackSuccess?.Value ?? 0, null) };
        bars.AddRange(r.Methods.Select(m => (m.Name, m.Test.CleanAccuracy.Value, m.Test.AttackSuccess?.Value ?? 0, m.RelapseAsr)));
        Plots.MethodBars(Path.Combine(dir, "methods.png"), bars, "test split");
        if (r.Scan != null)
        {
            r.Scan.Inversion.Trigger.Save(Path.Combine(dir, "scan"));
            Plots.InversionTrace(Path.Combine(dir, "scan", "inversion.png"), r.Scan.Inversion.Trace, o.Scan?.Inversion.SimilarityTarget ?? new Inversion.InversionOptions().SimilarityTarget, "trigger inversion");
        }
    }
}
