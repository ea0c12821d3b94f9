using Tbar.Io;
using Tbar.Models;
using Tbar.Unlearning;

namespace Tbar.Reporting;

/// <summary>What `tbar unlearn` leaves in its folder: the cleaned model, tau.safetensors, alpha.png, report.json and report.md.</summary>
public static class UnlearnReport
{
    /// <summary>
    /// Writes <paramref name="outDir"/> as a whole (<see cref="AtomicFolder"/>); <paramref name="trigger"/> is the forget
    /// source's resolved spec, shown in report.md; <paramref name="inputs"/> must not be inside the folder.
    /// </summary>
    public static void Write(string outDir, Clip cleaned, string command, UnlearnSettings settings, string trigger, long seed, UnlearnResult r,
        double seconds, params string?[] inputs) => Write(outDir, cleaned, command, settings, trigger, seed, r, seconds, null, inputs);

    /// <summary>As above, with <c>--method auto</c>'s comparison (auto.json, auto.md) when <paramref name="auto"/> is given.</summary>
    public static void Write(string outDir, Clip cleaned, string command, UnlearnSettings settings, string trigger, long seed, UnlearnResult r,
        double seconds, Pipelines.AutoChoice? auto, params string?[] inputs) =>
        AtomicFolder.Write(outDir, UnlearnRecord.FileName, stage =>
        {
            if (auto != null)
            {
                new RunRecord(command, settings, seed, auto, seconds).Save(Path.Combine(stage, "auto.json"));
                AtomicFile.WriteText(Path.Combine(stage, "auto.md"), AutoMarkdown(auto));
            }
            ClipCheckpoint.WriteInto(cleaned, stage);
            r.Tau?.Save(Path.Combine(stage, UnlearnRecord.TauFileName));
            if (r.Alpha != null) Plots.AlphaCurve(Path.Combine(stage, "alpha.png"), r.Alpha, $"{settings.Method}: validation CA/ASR against α");
            UnlearnRecord.Save(stage, command, settings, seed, r, seconds);
            AtomicFile.WriteText(Path.Combine(stage, "report.md"), Markdown(r, settings.Model, trigger, settings.Target));
        }, inputs);

    /// <summary>Every candidate of <c>--method auto</c> with the validation numbers that decided, and the reason.</summary>
    public static string AutoMarkdown(Pipelines.AutoChoice auto) =>
        "# tbar unlearn --method auto\n\n" + auto.Reason + "\n\nValidation split only (the test split is not read).\n\n" +
        "| candidate | val CA | val ASR | val target-class CA | val ASR after the durability fine-tune | val ASR after the re-tune check | α | " +
        "seconds |\n|---|---|---|---|---|---|---|---|\n" +
        string.Concat(auto.Candidates.Select(c => $"| {c.Method} | {c.Validation.CleanAccuracy.Value:P2} | {c.Validation.AttackSuccess.Value:P2} | " +
            $"{c.Validation.TargetClass?.Value:P2} | {c.DurabilityAsr:P2} | {c.RetuneAsr:P2} | " +
            $"{(c.Alpha is double a ? a.ToString("G3") : "–")} | " +
            $"{c.Seconds:F0} |\n"));

    /// <summary>The choice, the validation numbers and, for α methods, the validation curve with the target class's CA.</summary>
    public static string Markdown(UnlearnResult r, string model, string trigger, string target) =>
        $"# tbar unlearn\n\nModel `{model}`, forget trigger `{trigger}`, target `{target}`, method `{r.Method}`.\n\n" +
        $"Choice: {r.Choice}\n\nValidation CA {r.Validation.CleanAccuracy}, validation ASR {r.Validation.AttackSuccess}.\n\n" +
        (r.Alpha == null ? "" : "| α | val CA | val ASR | val target-class CA |\n|---|---|---|---|\n" +
            string.Concat(r.Alpha.Curve.Select(p =>
                $"| {p.Alpha:G4} | {p.CleanAccuracy.Value:P2} | {p.AttackSuccess.Value:P2} | {p.TargetClass?.Value:P2} |\n")));
}
