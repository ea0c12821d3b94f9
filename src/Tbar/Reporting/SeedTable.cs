using System.Text;
using Tbar.Evaluation;
using Tbar.Io;
using Tbar.Pipelines;

namespace Tbar.Reporting;

/// <summary>Mean ± standard deviation over seeds of the demo's test metrics.</summary>
public static class SeedTable
{
    sealed record Stat(string Model, double[] Ca, double[] Asr, double[] Retention, double[] Relapse, double[] Alpha, double[] Seconds,
        double[] TargetCa, double[] OthersCa);

    static List<Stat> Stats(IReadOnlyList<DemoResult> runs)
    {
        var names = new List<string> { "pretrained", "clean_reference", "backdoored" };
        names.AddRange(runs[0].Methods.Select(m => m.Name));
        return names.Select(name =>
        {
            var rows = runs.Select(r => (Row: RowOf(r, name), Base: r.Backdoored.Test.CleanAccuracy.Value, Target: r.Attack.Target))
                .Where(x => x.Row.Metrics != null).ToList();
            return new Stat(name, rows.Select(x => x.Row.Metrics!.CleanAccuracy.Value).ToArray(),
                rows.Select(x => x.Row.Metrics!.AttackSuccess?.Value ?? double.NaN).ToArray(),
                rows.Select(x => x.Row.Metrics!.CleanAccuracy.Value / x.Base).ToArray(),
                rows.Where(x => x.Row.Relapse != null).Select(x => x.Row.Relapse!.Value).ToArray(),
                rows.Where(x => x.Row.Alpha != null).Select(x => x.Row.Alpha!.Value).ToArray(),
                rows.Select(x => x.Row.Seconds).ToArray(),
                rows.Select(x => x.Row.Metrics!.TargetClass(x.Target)?.Value ?? double.NaN).ToArray(),
                rows.Select(x => x.Row.Metrics!.OtherClasses(x.Target)?.Value ?? double.NaN).ToArray());
        }).Where(s => s.Ca.Length > 0).ToList();
    }

    static (AttackMetrics? Metrics, double? Alpha, double? Relapse, double Seconds) RowOf(DemoResult r, string name) => name switch
    {
        "pretrained" => (r.Pretrained, null, null, 0),
        "clean_reference" => (r.CleanReference?.Test, null, null, r.CleanReference?.Seconds ?? 0),
        "backdoored" => (r.Backdoored.Test, null, null, r.Backdoored.Seconds),
        _ => r.Methods.Where(m => m.Name == name).Select(m => ((AttackMetrics?)m.Test, m.Alpha, m.RelapseAsr, m.Seconds)).Single(),
    };

    static string Cell(double[] xs, string format = "P2") =>
        format == "P2" ? MeanStd.Of(xs).Cell(100, "F2") : MeanStd.Of(xs).Cell(1, format);

    /// <summary>The Markdown table (percentages; retention = cleaned CA / backdoored CA).</summary>
    public static string Markdown(IReadOnlyList<DemoResult> runs)
    {
        var sb = new StringBuilder($"{runs.Count} seeds, mean ± std (sample). CA, ASR, retention and relapse ASR in %.\n\n");
        sb.Append("| model | CA | ASR | target-class CA | other classes CA | retention | α | relapse ASR | seconds |\n|---|---|---|---|---|---|---|---|---|\n");
        foreach (var s in Stats(runs))
            sb.Append($"| {s.Model} | {Cell(s.Ca)} | {Cell(s.Asr)} | {Cell(s.TargetCa)} | {Cell(s.OthersCa)} | {Cell(s.Retention)} | {Cell(s.Alpha, "F2")} | {Cell(s.Relapse)} | {Cell(s.Seconds, "F0")} |\n");
        return sb.ToString();
    }

    /// <summary>Writes table.md and results.json (options: the number of seeds) of `experiment unlearning`; returns the table.</summary>
    public static string Save(string outDir, string command, IReadOnlyList<DemoResult> runs, double seconds)
    {
        string table = Markdown(runs);
        AtomicFile.WriteText(Path.Combine(outDir, "table.md"), table);
        new RunRecord(command, new SeedTableSettings(runs.Count), 0, Summary(runs), seconds).Save(Path.Combine(outDir, "results.json"));
        return table;
    }

    /// <summary>Per-model arrays for results.json, keyed by model name.</summary>
    public static Dictionary<string, SeedSummary> Summary(IReadOnlyList<DemoResult> runs) => Stats(runs).ToDictionary(s => s.Model,
        s => new SeedSummary(s.Ca, s.Asr, s.Retention, s.Relapse, s.Alpha, s.Seconds, s.TargetCa, s.OthersCa));
}

/// <summary>The options part of `experiment unlearning`'s results.json: seeds 0..Seeds−1 were run.</summary>
public sealed record SeedTableSettings(int Seeds);

/// <summary>One model's test numbers over the seeds, in seed order (what `experiment unlearning` writes per model).</summary>
/// <param name="Ca">Clean accuracy.</param>
/// <param name="Asr">Attack success rate (NaN where none was measured).</param>
/// <param name="Retention">Clean accuracy / the backdoored model's.</param>
/// <param name="RelapseAsr">ASR after a short clean fine-tune (methods that chose an α).</param>
/// <param name="Alpha">Chosen α (α methods).</param>
/// <param name="Seconds">Wall time.</param>
/// <param name="TargetClassCa">Clean accuracy on the target class.</param>
/// <param name="OtherClassesCa">Clean accuracy on the other classes, pooled.</param>
public sealed record SeedSummary(double[] Ca, double[] Asr, double[] Retention, double[] RelapseAsr, double[] Alpha, double[] Seconds,
    double[] TargetClassCa, double[] OtherClassesCa);
