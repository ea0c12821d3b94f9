using System.Text.Json;
using Tbar.Io;

namespace Tbar.Evaluation;

/// <summary>CA, ASR and BD-ACC with their counts, as every JSON output writes them (ASR and BD-ACC absent without a trigger).</summary>
public sealed record MetricsRecord(double Ca, long CaCorrect, long CaTotal, double? Asr, long? AsrHits, long? AsrTotal, double? BdAcc,
    long? BdAccHits, long[][]? PerClassCounts = null)
{
    public static MetricsRecord From(AttackMetrics m) => new(m.CleanAccuracy.Value, m.CleanAccuracy.Hits, m.CleanAccuracy.Total,
        m.AttackSuccess?.Value, m.AttackSuccess?.Hits, m.AttackSuccess?.Total, m.BackdoorAccuracy?.Value, m.BackdoorAccuracy?.Hits,
        m.PerClass?.Select(c => new[] { c.Hits, c.Total }).ToArray());
}

/// <summary>What `tbar eval --json F` writes: the model, data and trigger evaluated, and the metrics.</summary>
/// <param name="Model">Model path.</param>
/// <param name="Data">Data spec whose test split was evaluated.</param>
/// <param name="Trigger">Resolved trigger spec (null: CA only).</param>
/// <param name="Target">Target class index (−1 without a trigger).</param>
/// <param name="Metrics">The numbers.</param>
public sealed record EvalRecord(string Model, string Data, string? Trigger, int Target, MetricsRecord Metrics)
{
    public void Save(string path) => AtomicFile.WriteText(path, JsonSerializer.Serialize(this, RunRecord.Json) + "\n");

    public static EvalRecord Load(string path)
    {
        if (!File.Exists(path)) throw new TbarException($"{path}: not found (written by `tbar eval --json`)");
        try
        {
            return JsonSerializer.Deserialize<EvalRecord>(File.ReadAllText(path), RecordJson.Strict) ?? throw new TbarException($"{path}: empty record");
        }
        catch (JsonException e)
        {
            throw new TbarException($"{path}: not a `tbar eval --json` record ({e.Message})");
        }
    }
}
