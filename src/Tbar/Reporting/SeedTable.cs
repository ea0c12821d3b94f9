using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tbar.Io;
using Tbar.Pipelines;

namespace Tbar.Reporting;

/// <summary>Mean ± standard deviation over seeds of the demo's test metrics.</summary>
public static class SeedTable
{
    sealed record Stat(string Model, double[] Ca, double[] Asr, double[] Retention, double[] Relapse, double[] Alpha, double[] Seconds,
        double[] TargetCa, double[] OthersCa);

    static List<Stat> Stats(IReadOnlyList<DemoRecord> runs)
    {
        var names = new List<string> { "pretrained", "clean_reference", "backdoored" };
        names.AddRange(runs[0].Methods.Keys);
        return names.Select(name =>
        {
            var rows = runs.Select(r => (Row: RowOf(r, name), Base: r.Backdoored.Ca)).Where(x => x.Row.Row != null).ToList();
            return new Stat(name, rows.Select(x => x.Row.Row!.Ca).ToArray(),
                rows.Select(x => x.Row.Row!.Asr ?? double.NaN).ToArray(),
                rows.Select(x => x.Row.Row!.Ca / x.Base).ToArray(),
                rows.Where(x => x.Row.Relapse != null).Select(x => x.Row.Relapse!.Value).ToArray(),
                rows.Where(x => x.Row.Alpha != null).Select(x => x.Row.Alpha!.Value).ToArray(),
                rows.Select(x => x.Row.Row!.Seconds).ToArray(),
                rows.Select(x => x.Row.Row!.TargetClassCa ?? double.NaN).ToArray(),
                rows.Select(x => x.Row.Row!.OtherClassesCa ?? double.NaN).ToArray());
        }).Where(s => s.Ca.Length > 0).ToList();
    }

    /// <summary>A model's row of one seed; α and relapse count for the methods only.</summary>
    static (DemoRow? Row, double? Alpha, double? Relapse) RowOf(DemoRecord r, string name) => name switch
    {
        "pretrained" => (r.Pretrained, null, null),
        "clean_reference" => (r.CleanReference, null, null),
        "backdoored" => (r.Backdoored, null, null),
        _ => r.Methods.GetValueOrDefault(name) is { } m ? (m, m.Alpha, m.RelapseAsr) : (null, null, null),
    };

    static string Cell(double[] xs, string format = "P2") =>
        format == "P2" ? MeanStd.Of(xs).Cell(100, "F2") : MeanStd.Of(xs).Cell(1, format);

    /// <summary>The Markdown table (percentages; retention = cleaned CA / backdoored CA).</summary>
    public static string Markdown(IReadOnlyList<DemoRecord> runs)
    {
        var sb = new StringBuilder($"{runs.Count} seeds, mean ± std (sample). CA, ASR, retention and relapse ASR in %.\n\n");
        sb.Append("| model | CA | ASR | target-class CA | other classes CA | retention | α | relapse ASR | seconds |\n|---|---|---|---|---|---|---|---|---|\n");
        foreach (var s in Stats(runs))
            sb.Append($"| {s.Model} | {Cell(s.Ca)} | {Cell(s.Asr)} | {Cell(s.TargetCa)} | {Cell(s.OthersCa)} | {Cell(s.Retention)} | {Cell(s.Alpha, "F2")} | {Cell(s.Relapse)} | {Cell(s.Seconds, "F0")} |\n");
        return sb.ToString();
    }

    /// <summary>Writes table.md and results.json (options: the number of seeds) of `experiment unlearning`; returns the table.</summary>
    public static string Save(string outDir, string command, IReadOnlyList<DemoRecord> runs, double seconds)
    {
        string table = Markdown(runs);
        AtomicFile.WriteText(Path.Combine(outDir, "table.md"), table);
        new RunRecord(command, new SeedTableSettings(runs.Count), 0, Summary(runs), seconds).Save(Path.Combine(outDir, "results.json"));
        return table;
    }

    /// <summary>The demo record of every finished seed folder under <paramref name="outDir"/>, in seed order.</summary>
    public static List<DemoRecord> Collect(string outDir)
    {
        if (!Directory.Exists(outDir)) throw new TbarException($"{outDir}: no such folder");
        var runs = UnlearningExperiment.FinishedSeedDirs(outDir).Select(d => Path.Combine(d, "results.json")).Select(Read).ToList();
        if (runs.Count == 0) throw new TbarException($"{outDir}: no finished seeds of `tbar experiment unlearning` (seed-K/results.json)");
        return runs;
    }

    // Lenient (RunRecord's naming, missing keys read as null): seed folders written before a field existed still count.
    static DemoRecord Read(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<StoredRun<JsonNode, DemoRecord>>(File.ReadAllText(path), RunRecord.Json)?.Results
                ?? throw new TbarException($"{path}: empty record");
        }
        catch (JsonException e)
        {
            throw new TbarException($"{path}: not a seed record of `tbar experiment unlearning` ({e.Message})");
        }
    }

    /// <summary>Per-model arrays for results.json, keyed by model name.</summary>
    public static Dictionary<string, SeedSummary> Summary(IReadOnlyList<DemoRecord> runs) => Stats(runs).ToDictionary(s => s.Model,
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
