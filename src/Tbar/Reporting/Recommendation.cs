using Tbar.Pipelines;

namespace Tbar.Reporting;

/// <summary>The method a demo run recommends, chosen on validation only, and why.</summary>
/// <param name="Method">Registry name, or null when no method removed the backdoor on validation.</param>
/// <param name="Arithmetic">Whether negation is part of it (a chosen α &gt; 0).</param>
/// <param name="Text">One paragraph for report.md.</param>
public sealed record Recommendation(string? Method, bool Arithmetic, string Text)
{
    /// <summary>
    /// The rule of <c>tbar unlearn --method auto</c> (<see cref="AutoMethod.Choose"/>) on the demo's rows: among methods whose
    /// validation ASR is ≤ 1%, one whose validation ASR stays ≤ 10% after a clean epoch on held-out images wins over any whose does
    /// not; of those, one that re-learns the trigger from a few images much more readily than the others is passed over; then the
    /// highest validation CA. A user has no test split, so the choice never looks at it (the test numbers are quoted beside it as
    /// a check).
    /// </summary>
    public static Recommendation For(DemoResult r)
    {
        var rows = r.Methods.Where(m => r.Records.ContainsKey(m.Name)).ToList();
        if (rows.Count == 0) return new(null, false, "No cleaning method was run.");
        var candidates = rows.Select(m => new AutoCandidate(m.Name, r.Records[m.Name].Validation, m.DurabilityAsr, m.Alpha, m.Choice, m.Seconds,
            m.RetuneCheckAsr))
            .ToList();
        var choice = AutoMethod.Choose(candidates, []);
        if (choice.Method == null) return new(null, false, choice.Reason + "\n\n" + ArithmeticCheck(r));
        var best = rows.First(m => m.Name == choice.Method);
        bool arithmetic = best.Alpha is > 0;
        string text = choice.Reason + $" On the test split (a check, not part of the choice): CA {best.Test.CleanAccuracy.Value:P2}, " +
            $"ASR {best.Test.AttackSuccess?.Value:P2}" +
            (best.RelapseAsr is double relapse ? $", ASR {relapse:P2} after a short clean fine-tune." : ".") + RelapseWarning(best);
        var arithmeticRows = candidates.Where(c => c.Removes && c.Alpha is > 0).OrderByDescending(c => c.Validation.CleanAccuracy.Value).ToList();
        if (!arithmetic)
            text += arithmeticRows.Count > 0
                ? $" The best arithmetic row ({arithmeticRows[0].Method}, α = {arithmeticRows[0].Alpha:G3}) has validation CA " +
                    $"{arithmeticRows[0].Validation.CleanAccuracy.Value:P2}" +
                    (arithmeticRows[0].Durable ? "." : $" and is not durable (ASR {arithmeticRows[0].DurabilityAsr:P2} after the check).")
                : " No row with α > 0 reached the ASR target on validation at its CA floor.";
        return new(best.Name, arithmetic, text + "\n\n" + ArithmeticCheck(r));
    }

    /// <summary>Test ASR after the relapse check above which the recommended row is said to mute the backdoor, not remove it.</summary>
    public const double RelapseBar = AutoMethod.DurabilityBar;

    /// <summary>A warning when the recommended row's backdoor comes back after the short clean fine-tune (test split, a check).</summary>
    static string RelapseWarning(TestRow row) => row.RelapseAsr is double r && r > RelapseBar
        ? $" **Warning:** the backdoor comes back after one clean epoch (ASR {r:P2} > {RelapseBar:P0}): this row mutes it rather than " +
            "removing it, and any later fine-tuning of the cleaned model may bring it back."
        : "";

    /// <summary>Test ASR of an α &gt; 0 row at most this, with at least <see cref="RetentionBar"/> retention, for the arithmetic check.</summary>
    public const double TestAsrBar = 0.02, RetentionBar = 0.92;

    /// <summary>
    /// Whether some row with α &gt; 0 reached test ASR ≤ 2% at ≥ 92% retention: the question is whether the arithmetic
    /// itself removed the backdoor in this run; when none did, the closest row and the bar it missed are named.
    /// </summary>
    public static string ArithmeticCheck(DemoResult r)
    {
        double baseCa = r.Backdoored.Test.CleanAccuracy.Value;
        var rows = r.Methods.Where(m => m.Alpha is > 0 && m.Test.AttackSuccess != null).ToList();
        if (rows.Count == 0) return "Arithmetic check: no row chose α > 0, so negation removed nothing in this run.";
        var passing = rows.Where(m => m.Test.AttackSuccess!.Value <= TestAsrBar && m.Test.CleanAccuracy.Value / baseCa >= RetentionBar).ToList();
        if (passing.Count > 0)
        {
            var p = passing.OrderByDescending(m => m.Test.CleanAccuracy.Value).First();
            return $"Arithmetic check: {p.Name} (α = {p.Alpha:G3}) reaches test ASR {p.Test.AttackSuccess!.Value:P2} at " +
                $"{p.Test.CleanAccuracy.Value / baseCa:P1} retention (bar: ASR ≤ {TestAsrBar:P0} at ≥ {RetentionBar:P0}).";
        }
        var closest = rows.OrderBy(m =>
            Math.Max(m.Test.AttackSuccess!.Value - TestAsrBar, 0) + Math.Max(RetentionBar - m.Test.CleanAccuracy.Value / baseCa, 0)).First();
        string missed = closest.Test.AttackSuccess!.Value > TestAsrBar ? $"its test ASR is {closest.Test.AttackSuccess.Value:P2}" : "";
        if (closest.Test.CleanAccuracy.Value / baseCa < RetentionBar)
            missed += (missed.Length > 0 ? " and " : "") + $"it keeps {closest.Test.CleanAccuracy.Value / baseCa:P1} of the backdoored CA";
        return $"Arithmetic check: no row with α > 0 reached test ASR ≤ {TestAsrBar:P0} at ≥ {RetentionBar:P0} retention. The closest is " +
            $"{closest.Name} (α = {closest.Alpha:G3}): {missed}. Why, in this run: at its α the target class keeps " +
            $"{closest.Test.TargetClass(r.Attack.Target)?.Value:P1} (backdoored {r.Backdoored.Test.TargetClass(r.Attack.Target)?.Value:P1}) " +
            "and the other classes " +
            $"{closest.Test.OtherClasses(r.Attack.Target)?.Value:P1} (backdoored {r.Backdoored.Test.OtherClasses(r.Attack.Target)?.Value:P1}).";
    }
}
