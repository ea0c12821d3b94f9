using Tbar.Data;
using Tbar.Inversion;
using Tbar.Io;

namespace Tbar.Reporting;

/// <summary>What a scan leaves in its folder: the trigger, its pictures, the trace plot, scan.json and scan.md.</summary>
public static class ScanReport
{
    /// <summary>A DECREE-only scan (the demo's and the agnostic experiment's).</summary>
    public static void Write(string dir, string command, ScanSettings settings, ScanVerdict v, double seconds) =>
        WriteFolder(dir, settings, v.Inversion, ScanSummary.From(v), command, seconds, Markdown(v, settings.Model), null);

    /// <summary>`tbar scan`: both inverted triggers, warp samples on held-out images, and the two-inversion verdict.</summary>
    public static void Write(string dir, string command, ScanSettings settings, Detection d, ImageDataset samples, long[] sampleIds,
        double seconds) =>
        WriteFolder(dir, settings, d.Decree, ScanSummary.From(d), command, seconds, Markdown(d, settings.Model), stage =>
        {
            d.Warp.Trigger.Save(stage, settings.Warp?.Bounds ?? new WarpOptions().Bounds);
            SaveSamples(Path.Combine(stage, "warp-samples.png"), samples, sampleIds, d.Warp.Trigger);
        });

    /// <summary>
    /// `tbar scan`'s folder for a model scanned on the clean <paramref name="pool"/> of <paramref name="dataSpec"/>: the warp
    /// samples are the first 8 of the scan's held-out images.
    /// </summary>
    public static void Write(string dir, string command, string model, string dataSpec, ScanOptions options, Detection d, ImageDataset data,
        long[] pool, double seconds) =>
        Write(dir, command, ScanSettings.Of(model, dataSpec, options, warp: true), d, data, Scanner.Split(pool, options).HeldOut.Take(8).ToArray(),
            seconds);

    static void WriteFolder(string dir, ScanSettings settings, InversionResult decree, ScanSummary summary, string command, double seconds,
        string markdown, Action<string>? more)
    {
        string? input = File.Exists(settings.Model) || Directory.Exists(settings.Model) ? settings.Model : null;
        AtomicFolder.Write(dir, ScanRecord.FileName, stage =>
        {
            decree.Trigger.Save(stage);
            string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(settings.Model));
            Plots.InversionTrace(Path.Combine(stage, "inversion.png"), decree.Trace, settings.Inversion.SimilarityTarget,
                $"trigger inversion: {name}");
            more?.Invoke(stage);
            ScanRecord.Save(stage, command, settings, summary, seconds);
            AtomicFile.WriteText(Path.Combine(stage, "scan.md"), markdown);
        }, input);
    }

    /// <summary>Clean images on the top row, the same images under <paramref name="trigger"/> below: (3, 2H, n·W).</summary>
    public static void SaveSamples(string path, ImageDataset data, long[] ids, Attacks.ITrigger trigger)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        var images = data.Images(ids);
        var rows = TorchSharp.torch.cat([images, trigger.Apply(images, ids)], 2);
        ImageFile.SavePng(path, TorchSharp.torch.cat(rows.unbind(0), 2));
    }

    public static string Markdown(Detection d, string model) =>
        $"# tbar scan\n\nModel `{model}`.\n\n**{(d.Backdoored ? "Backdoored" : "Clean")}.** {d.Summary}\n\n" +
        $"| evidence | DECREE (stamp) | warp |\n|---|---|---|\n" +
        $"| statistic | PL1 {d.Decree.Pl1:P2} | held-out similarity {d.Warp.Similarity:F3} (unwarped {d.Warp.CleanSimilarity:F3}) |\n" +
        $"| percentile among clean models | {d.DecreePercentile:F4} | {d.WarpPercentile:F4} |\n" +
        $"| inferred target | {d.DecreeTarget.Name} ({d.DecreeTarget.Share}) | {d.WarpTarget.Name} ({d.WarpTarget.Share}) |\n" +
        $"| budget | similarity target {(d.Decree.Reached ? "reached" : "not reached")} | " +
        $"mean shift {d.Warp.Trigger.MeanShift:F2} px, |r| ≤ {d.Warp.Trigger.ResidualMax:F3} |\n\n" +
        $"Verdict score {d.Score:F4} against threshold {d.Threshold:F4} ({d.ThresholdSource}).\n\n" +
        "![mask](mask.png) ![pattern](pattern.png) ![warp samples](warp-samples.png) ![trace](inversion.png)\n";

    public static string Markdown(ScanVerdict v, string model) =>
        $"# tbar scan\n\nModel `{model}`.\n\n**{(v.Backdoored ? "Backdoored" : "Clean")}.** {v.Summary}\n\n" +
        $"| evidence | value |\n|---|---|\n| PL1 (mask share of the image) | {v.Pl1:P2} |\n" +
        $"| threshold | {v.Threshold:P2} ({v.ThresholdSource}) |\n" +
        $"| similarity target reached | {(v.Inversion.Reached ? "yes" : "no")} |\n" +
        $"| held-out similarity, stamped / clean | {v.Inversion.Similarity:F3} / {v.Inversion.CleanSimilarity:F3} |\n" +
        $"| inferred target | {v.TargetName} ({v.TargetShare}) |\n\n![mask](mask.png) ![pattern](pattern.png) ![trace](inversion.png)\n";
}
