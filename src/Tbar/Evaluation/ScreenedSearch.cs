namespace Tbar.Evaluation;

/// <summary>Validation CA and ASR at one α counted on small fixed subsets of the validation images: a cheap first look.</summary>
public sealed record AlphaLook(double Alpha, Rate CleanAccuracy, Rate AttackSuccess);

/// <summary>
/// One-sided tests on a look. The subset is a sample without replacement from the validation images, so for a share p of
/// hits in the whole set, P(k hits or more among n) ≤ exp(−n·KL(k/n ‖ p)) (the Chernoff bound, which Hoeffding 1963 §6
/// extends from sampling with replacement to sampling without). A claim "share &gt; p" is made only when that bound is ≤ δ.
/// </summary>
public static class Chernoff
{
    /// <summary>Whether <paramref name="rate"/> shows, at error probability ≤ <paramref name="delta"/>, a whole-set share above <paramref name="p"/>.</summary>
    public static bool Above(Rate rate, double p, double delta)
    {
        if (rate.Total == 0 || rate.Value <= p) return false;
        if (p <= 0) return true;
        return p < 1 && rate.Total * Kl(rate.Value, p) >= Math.Log(1 / delta);
    }

    /// <summary>Whether the share is shown to be at most <paramref name="p"/> (the same test on the misses).</summary>
    public static bool Below(Rate rate, double p, double delta) => Above(new Rate(rate.Total - rate.Hits, rate.Total), 1 - p, delta);

    static double Kl(double q, double p) => (q > 0 ? q * Math.Log(q / p) : 0) + (q < 1 ? (1 - q) * Math.Log((1 - q) / (1 - p)) : 0);
}

/// <summary>
/// The screened α search: the same rule as <see cref="AlphaSweep.Choose"/>, in fewer full validation evaluations.
/// <list type="number">
/// <item>α = 0 is evaluated in full (it decides whether there is a backdoor and sets the CA floor).</item>
/// <item>Doubling from <see cref="AlphaRule.FirstAlpha"/>: each α gets a look first; when the look shows (Chernoff, δ each)
/// ASR above the target and CA above the floor, α is short of the answer and no full evaluation is spent on it.</item>
/// <item>The first α that is not clearly short is evaluated in full. The answer sits where the curve first stops being short:
/// ASR reaching the target (answer: the first feasible α) or CA falling under the floor (answer: the last α above it).</item>
/// <item>That crossing is located by interpolation (logit ASR, or CA, linear in α between the bracket ends), probing half a
/// grid step to the answer's side of the estimate, until the bracket is one grid step (<see cref="AlphaRule.MaxAlpha"/> /
/// <see cref="AlphaRule.GridPoints"/>) wide; every third probe bisects, so a bad interpolation cannot stall it.</item>
/// </list>
/// The choice is made by the one rule (<see cref="Selection"/>) over the fully evaluated points only.
/// </summary>
public static class ScreenedSearch
{
    /// <summary>What is known at one α: a full point, or a look that showed α short of the answer.</summary>
    sealed record Known(double Alpha, Rate Ca, Rate Asr, AlphaPoint? Full, bool Short);

    /// <summary>Chooses α with <paramref name="evaluate"/> (full validation) and <paramref name="look"/> (subsets) under <paramref name="rule"/>.</summary>
    public static AlphaChoice Choose(Func<double, AlphaPoint> evaluate, Func<double, AlphaLook> look, AlphaRule rule)
    {
        var curve = new List<AlphaPoint>();
        var looks = new List<AlphaLook>();
        AlphaPoint Full(double a)
        {
            var p = evaluate(a);
            curve.Add(p);
            return p;
        }
        var start = Full(0);
        if (start.AttackSuccess.Value <= rule.AsrTarget) return AlphaSweep.NothingToRemove(start, rule, curve);
        double floor = rule.CaFloor * start.CleanAccuracy.Value, step = rule.MaxAlpha / rule.GridPoints;
        Known Probe(double a)
        {
            var l = look(a);
            looks.Add(l);
            if (Chernoff.Above(l.AttackSuccess, rule.AsrTarget, rule.LookDelta) && Chernoff.Above(l.CleanAccuracy, floor, rule.LookDelta))
                return new Known(a, l.CleanAccuracy, l.AttackSuccess, null, true);
            var p = Full(a);
            return new Known(a, p.CleanAccuracy, p.AttackSuccess, p, p.AttackSuccess.Value > rule.AsrTarget && p.CleanAccuracy.Value >= floor);
        }
        var lo = new Known(0, start.CleanAccuracy, start.AttackSuccess, start, true);
        Known? hi = null;
        for (double a = rule.FirstAlpha; a <= rule.MaxAlpha && hi == null; a *= 2)
        {
            var k = Probe(a);
            if (k.Short) lo = k; else hi = k;
        }
        for (int i = 1; hi != null && hi.Alpha - lo.Alpha > step * (1 + 1e-9); i++)
        {
            var k = Probe(i % 3 == 0 ? (lo.Alpha + hi.Alpha) / 2 : Next(lo, hi, rule.AsrTarget, floor, step));
            if (k.Short) lo = k; else hi = k;
        }
        bool answerIsLo = hi == null || hi.Asr.Value > rule.AsrTarget || hi.Ca.Value < floor;
        if (answerIsLo && lo.Full == null) Full(lo.Alpha);
        if (hi == null && rule.ValleySteps > 0) AlphaSweep.Valley(Full, curve, rule, floor, looks.Select(l => l.Alpha));
        return AlphaSweep.Decide(curve, rule, floor) with { Looks = looks.OrderBy(l => l.Alpha).ToList() };
    }

    /// <summary>
    /// The next probe inside (lo, hi): the interpolated crossing, moved half a step towards the answer's side; when that
    /// would land within a quarter step of the bracket end on that side, one step in from it (a probe that can close the bracket).
    /// </summary>
    static double Next(Known lo, Known hi, double asrTarget, double floor, double step)
    {
        bool asrSide = hi.Asr.Value <= asrTarget && hi.Ca.Value >= floor;
        double asrAt = Crossing(lo, hi, k => Logit(k.Asr), Logit(asrTarget));
        double at = asrSide ? asrAt : Math.Min(Crossing(lo, hi, k => k.Ca.Value, floor), asrAt);
        double x = asrSide ? at + step / 2 : at - step / 2;
        if (asrSide && x > hi.Alpha - step / 4) x = hi.Alpha - step;
        if (!asrSide && x < lo.Alpha + step / 4) x = lo.Alpha + step;
        double margin = (hi.Alpha - lo.Alpha) / 10;
        return Math.Clamp(x, lo.Alpha + margin, hi.Alpha - margin);
    }

    /// <summary>Where <paramref name="f"/>, linear in α between the two ends, equals <paramref name="level"/> (hi when it does not cross).</summary>
    static double Crossing(Known lo, Known hi, Func<Known, double> f, double level)
    {
        double a = f(lo), b = f(hi);
        if (!(a > level && b <= level) || a == b) return hi.Alpha;
        return lo.Alpha + (hi.Alpha - lo.Alpha) * (a - level) / (a - b);
    }

    // Half a count added to hits and misses keeps 0 and 1 finite.
    static double Logit(Rate r) => Logit((r.Hits + 0.5) / (r.Total + 1.0));

    static double Logit(double q) => Math.Log(Math.Clamp(q, 1e-9, 1 - 1e-9) / (1 - Math.Clamp(q, 1e-9, 1 - 1e-9)));
}
