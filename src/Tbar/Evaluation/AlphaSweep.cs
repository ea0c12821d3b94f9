namespace Tbar.Evaluation;

/// <summary>Validation CA and ASR of the model at one α, with the target class's own clean accuracy where counted.</summary>
public sealed record AlphaPoint(double Alpha, Rate CleanAccuracy, Rate AttackSuccess, Rate? TargetClass = null);

/// <summary>
/// The α rule: among α whose validation ASR ≤ <paramref name="AsrTarget"/>, the one with the largest validation CA, provided
/// CA ≥ <paramref name="CaFloor"/> × the backdoored model's validation CA.
/// </summary>
/// <param name="AsrTarget">Validation ASR to reach, e.g. 0.01.</param>
/// <param name="CaFloor">Share of the backdoored model's validation CA that must be kept, e.g. 0.9.</param>
/// <param name="FirstAlpha">First α of the doubling bracket, e.g. 0.25.</param>
/// <param name="MaxAlpha">Largest α tried, e.g. 16.</param>
/// <param name="RefineSteps">Bisection steps after bracketing, e.g. 6.</param>
/// <param name="ValleySteps">
/// When no bracket point meets the ASR target, evaluations spent looking for ASR's minimum around the lowest-ASR point
/// that holds the floor, e.g. 6 (0: none). ASR need not fall monotonically with α: past some α the edited model drifts
/// and ASR rises again, and doubling can step over the valley between two points.
/// </param>
/// <param name="Search">How α is searched: "bisect" (<see cref="AlphaSweep.Choose"/>) or "screened" (<see cref="ScreenedSearch"/>).</param>
/// <param name="GridPoints">Screened: the bracket is narrowed to MaxAlpha / GridPoints, one step of a grid this fine, e.g. 40.</param>
/// <param name="LookSize">Screened: clean and triggered validation images in a cheap first look, e.g. 256 of each.</param>
/// <param name="LookDelta">Screened: error probability of each one-sided test on a look, e.g. 0.01.</param>
public sealed record AlphaRule(double AsrTarget = 0.01, double CaFloor = 0.9, double FirstAlpha = 0.25, double MaxAlpha = 16, int RefineSteps = 6,
    int ValleySteps = 0, string Search = "bisect", int GridPoints = 40, int LookSize = 256, double LookDelta = 0.01);

/// <summary>
/// The chosen α with the reason, whether it met the rule, every point evaluated in full (sorted by α), and the cheap looks
/// taken on subsets (screened search; null otherwise).
/// </summary>
public sealed record AlphaChoice(double Alpha, bool Feasible, string Reason, AlphaPoint Point, IReadOnlyList<AlphaPoint> Curve,
    IReadOnlyList<AlphaLook>? Looks = null);

/// <summary>
/// The α search strategies: <see cref="Choose"/> (bracket by doubling, then bisect; with an optional valley search),
/// <see cref="ScreenedSearch"/> (cheap looks and interpolation; the same rule in fewer evaluations) and
/// <see cref="ChooseOnGrid"/> (a fixed grid, evaluated whole). Choose searches α efficiently: ASR falls as α grows, so
/// double α until ASR meets the target (bracket), then bisect towards the
/// smallest such α, which keeps the most clean accuracy. Every evaluated point is recorded.
/// </summary>
public static class AlphaSweep
{
    /// <summary>The search strategies by the name <see cref="AlphaRule.Search"/> takes.</summary>
    public static readonly IReadOnlyList<string> Searches = ["bisect", "screened"];

    /// <summary>
    /// Chooses α by the strategy <paramref name="rule"/> names; <paramref name="look"/> (validation CA and ASR on subsets of
    /// <see cref="AlphaRule.LookSize"/> images) is used by the screened search only.
    /// </summary>
    public static AlphaChoice Search(Func<double, AlphaPoint> evaluate, Func<double, AlphaLook> look, AlphaRule rule) => rule.Search switch
    {
        "bisect" => Choose(evaluate, rule),
        "screened" => ScreenedSearch.Choose(evaluate, look, rule),
        _ => throw new TbarException($"unknown α search '{rule.Search}' (valid: {string.Join(", ", Searches)})"),
    };

    /// <summary>Chooses α with <paramref name="evaluate"/> (validation data only) under <paramref name="rule"/>.</summary>
    public static AlphaChoice Choose(Func<double, AlphaPoint> evaluate, AlphaRule rule)
    {
        var curve = new List<AlphaPoint>();
        AlphaPoint Eval(double a)
        {
            var p = evaluate(a);
            curve.Add(p);
            return p;
        }
        var start = Eval(0);
        if (start.AttackSuccess.Value <= rule.AsrTarget) return NothingToRemove(start, rule, curve);
        double floor = rule.CaFloor * start.CleanAccuracy.Value;
        var (lo, hi) = Bracket(Eval, rule, floor);
        if (hi != null) Refine(Eval, rule, lo, hi.Value);
        else if (rule.ValleySteps > 0) Valley(Eval, curve, rule, floor);
        return Decide(curve, rule, floor);
    }

    /// <summary>
    /// The fixed-grid strategy: every α of <paramref name="grid"/> is evaluated and the rule picks among them; for edits
    /// whose ASR need not fall with α (each α with its own repair). <paramref name="unedited"/> (the model before any edit)
    /// decides whether there is a backdoor at all and sets the CA floor.
    /// </summary>
    public static AlphaChoice ChooseOnGrid(AlphaPoint unedited, Func<double, AlphaPoint> evaluate, IReadOnlyList<double> grid, AlphaRule rule,
        string label)
    {
        if (unedited.AttackSuccess.Value <= rule.AsrTarget)
            return new AlphaChoice(0, true, $"validation ASR {unedited.AttackSuccess.Value:P2} already ≤ {rule.AsrTarget:P0}: " +
                "no backdoor to remove, model left unchanged", unedited, [unedited]);
        double floor = rule.CaFloor * unedited.CleanAccuracy.Value;
        var curve = grid.Select(evaluate).ToList();
        var (best, feasible, reason) = Selection.Pick(curve, p => p.CleanAccuracy.Value, p => p.AttackSuccess.Value, rule.AsrTarget, floor);
        return new AlphaChoice(best.Alpha, feasible, $"α = {best.Alpha:G3}{label}: {reason}", best, curve);
    }

    internal static AlphaChoice NothingToRemove(AlphaPoint start, AlphaRule rule, List<AlphaPoint> curve) =>
        new(0, true, $"validation ASR {start.AttackSuccess.Value:P2} already ≤ {rule.AsrTarget:P0} at α = 0: no backdoor to remove, " +
            "model left unchanged", start, curve);

    static (double Lo, double? Hi) Bracket(Func<double, AlphaPoint> eval, AlphaRule rule, double floor)
    {
        double lo = 0;
        for (double a = rule.FirstAlpha; a <= rule.MaxAlpha; a *= 2)
        {
            var p = eval(a);
            if (p.AttackSuccess.Value <= rule.AsrTarget) return (lo, a);
            // CA only falls further with α; past the floor no larger α can be feasible.
            if (p.CleanAccuracy.Value < floor) return (lo, null);
            lo = a;
        }
        return (lo, null);
    }

    static void Refine(Func<double, AlphaPoint> eval, AlphaRule rule, double lo, double hi)
    {
        for (int i = 0; i < rule.RefineSteps; i++)
        {
            double mid = (lo + hi) / 2;
            if (eval(mid).AttackSuccess.Value <= rule.AsrTarget) hi = mid; else lo = mid;
        }
    }

    /// <summary>
    /// Bracketed search for ASR's minimum: the best floor-holding point and its evaluated neighbours bound the valley; each
    /// step evaluates the midpoint of the wider side and keeps the better point. Once a point meets the target, bisection
    /// moves it towards the smallest such α, as after an ordinary bracket. <paramref name="looked"/>: other α already probed
    /// (cheap looks), which also bound the valley.
    /// </summary>
    internal static void Valley(Func<double, AlphaPoint> eval, List<AlphaPoint> curve, AlphaRule rule, double floor,
        IEnumerable<double>? looked = null)
    {
        var holding = curve.OrderBy(p => p.Alpha).Where(p => p.Alpha > 0 && p.CleanAccuracy.Value >= floor).ToList();
        if (holding.Count == 0) return;
        var best = holding.MinBy(p => p.AttackSuccess.Value)!;
        var alphas = curve.Select(p => p.Alpha).Concat(looked ?? []).Distinct().Order().ToList();
        int at = alphas.IndexOf(best.Alpha);
        double left = alphas[at - 1], right = at + 1 < alphas.Count ? alphas[at + 1] : 2 * best.Alpha;
        for (int i = 0; i < rule.ValleySteps; i++)
        {
            bool goLeft = best.Alpha - left >= right - best.Alpha;
            var p = eval(goLeft ? (left + best.Alpha) / 2 : (best.Alpha + right) / 2);
            bool better = p.CleanAccuracy.Value >= floor && p.AttackSuccess.Value < best.AttackSuccess.Value;
            if (better) (left, right, best) = goLeft ? (left, best.Alpha, p) : (best.Alpha, right, p);
            else if (goLeft) left = p.Alpha;
            else right = p.Alpha;
            if (best.AttackSuccess.Value <= rule.AsrTarget) break;
        }
        if (best.AttackSuccess.Value <= rule.AsrTarget) Refine(eval, rule with { RefineSteps = Math.Max(1, rule.RefineSteps / 2) }, left, best.Alpha);
    }

    internal static AlphaChoice Decide(List<AlphaPoint> curve, AlphaRule rule, double floor)
    {
        var sorted = curve.OrderBy(p => p.Alpha).ToList();
        var (best, feasible, reason) = Selection.Pick(sorted, p => p.CleanAccuracy.Value, p => p.AttackSuccess.Value, rule.AsrTarget, floor);
        return new AlphaChoice(best.Alpha, feasible, $"α = {best.Alpha:G4}: {reason}", best, sorted);
    }
}
