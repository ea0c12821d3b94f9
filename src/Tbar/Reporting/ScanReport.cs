using Tbar.Inversion;
using Tbar.Io;

namespace Tbar.Reporting;

/// <summary>What a scan leaves in its folder: the trigger, its pictures, the trace plot, scan.json and scan.md.</summary>
public static class ScanReport
{
    public static void Write(string dir, string command, ScanSettings settings, ScanVerdict v, double seconds)
    {
        string? input = File.Exists(settings.Model) || Directory.Exists(settings.Model) ? settings.Model : null;
        AtomicFolder.Write(dir, ScanRecord.FileName, stage =>
        {
            v.Inversion.Trigger.Save(stage);
            string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(settings.Model));
            Plots.InversionTrace(Path.Combine(stage, "inversion.png"), v.Inversion.Trace, settings.Inversion.SimilarityTarget,
                $"trigger inversion: {name}");
            ScanRecord.Save(stage, command, settings, v, seconds);
            AtomicFile.WriteText(Path.Combine(stage, "scan.md"), Markdown(v, settings.Model));
        }, input);
    }

    public static string Markdown(ScanVerdict v, string model) =>
        $"# tbar scan\n\nModel `{model}`.\n\n**{(v.Backdoored ? "Backdoored" : "Clean")}.** {v.Summary}\n\n" +
        $"| evidence | value |\n|---|---|\n| PL1 (mask share of the image) | {v.Pl1:P2} |\n" +
        $"| threshold | {v.Threshold:P2} ({v.ThresholdSource}) |\n" +
        $"| similarity target reached | {(v.Inversion.Reached ? "yes" : "no")} |\n" +
        $"| held-out similarity, stamped / clean | {v.Inversion.Similarity:F3} / {v.Inversion.CleanSimilarity:F3} |\n" +
        $"| inferred target | {v.TargetName} ({v.TargetShare}) |\n\n![mask](mask.png) ![pattern](pattern.png) ![trace](inversion.png)\n";
}
