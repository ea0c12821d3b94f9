using Tbar.Evaluation;
using Tbar.Inversion;
using Tbar.Pipelines;
using Tbar.Unlearning;

namespace Tbar.Reporting;

/// <summary>The results part of a demo's results.json: one row per model, the recommendation, the α choices and the scan.</summary>
public sealed record DemoRecord(DemoRow Pretrained, DemoRow Backdoored, DemoRow? CleanReference, Dictionary<string, DemoRow> Methods,
    Recommendation Recommendation, IReadOnlyDictionary<string, int> SplitSizes, Dictionary<string, DemoAlphaChoice> AlphaChoices,
    DemoScan? Scan, Dictionary<string, object?> BaselineSweeps)
{
    public static DemoRecord From(DemoResult r)
    {
        int t = r.Attack.Target;
        return new(DemoRow.Of(r.Pretrained, null, 0, "pretrained mini-CLIP, before any fine-tuning", t), DemoRow.Of(r.Backdoored, t),
            r.CleanReference == null ? null : DemoRow.Of(r.CleanReference, t), r.Methods.ToDictionary(m => m.Name, m => DemoRow.Of(m, t)),
            Recommendation.For(r), r.SplitSizes,
            r.Records.Where(p => p.Value.Alpha != null).ToDictionary(p => p.Key, p => DemoAlphaChoice.Of(p.Value.Alpha!)),
            r.Scan == null ? null : DemoScan.Of(r.Scan),
            r.Records.Where(p => p.Value.Extra != null).ToDictionary(p => p.Key, p => p.Value.Extra));
    }
}

/// <summary>One model's test numbers: rates with their counts, target-class and other-class CA, α, relapse ASR and a note.</summary>
public sealed record DemoRow(double Ca, double? Asr, double? BdAcc, double? Alpha, double Seconds, long[] CaCounts, long[]? AsrCounts,
    double? TargetClassCa, double? OtherClassesCa, long[][]? PerClassCounts, double? RelapseAsr, string Note)
{
    public static DemoRow Of(TestRow t, int target) => Of(t.Test, t.Alpha, t.Seconds, t.Choice, target, t.RelapseAsr);

    public static DemoRow Of(AttackMetrics m, double? alpha, double seconds, string note, int target, double? relapse = null) => new(
        m.CleanAccuracy.Value, m.AttackSuccess?.Value, m.BackdoorAccuracy?.Value, alpha, seconds, [m.CleanAccuracy.Hits, m.CleanAccuracy.Total],
        m.AttackSuccess == null ? null : [m.AttackSuccess.Hits, m.AttackSuccess.Total], m.TargetClass(target)?.Value,
        m.OtherClasses(target)?.Value, m.PerClass?.Select(c => new[] { c.Hits, c.Total }).ToArray(), relapse, note);
}

/// <summary>A method's α choice with its whole validation curve.</summary>
public sealed record DemoAlphaChoice(double Alpha, bool Feasible, string Reason, IReadOnlyList<UnlearnCurvePoint> Curve)
{
    public static DemoAlphaChoice Of(AlphaChoice c) => new(c.Alpha, c.Feasible, c.Reason, [.. c.Curve.Select(UnlearnCurvePoint.Of)]);
}

/// <summary>The scan's verdict and evidence as the demo records it.</summary>
public sealed record DemoScan(string Verdict, double Pl1, double Threshold, string ThresholdSource, string TargetName, double TargetShare,
    double HeldOutSimilarity, double InversionSeconds)
{
    public static DemoScan Of(ScanVerdict s) => new(s.Backdoored ? "backdoored" : "clean", s.Pl1, s.Threshold, s.ThresholdSource, s.TargetName,
        s.TargetShare.Value, s.Inversion.Similarity, s.Inversion.Seconds);
}
