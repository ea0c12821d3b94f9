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
    /// <summary>
    /// Whether <paramref name="rate"/> shows, at error probability ≤ <paramref name="delta"/>, a whole-set share above <paramref name="p"/>.
    /// </summary>
    public static bool Above(Rate rate, double p, double delta)
    {
        if (rate.Total == 0 || rate.Value <= p) return false;
        if (p <= 0) return true;
        return p < 1 && rate.Total * Kl(rate.Value, p) >= Math.Log(1 / delta);
    }

    static double Kl(double q, double p) => (q > 0 ? q * Math.Log(q / p) : 0) + (q < 1 ? (1 - q) * Math.Log((1 - q) / (1 - p)) : 0);
}

/// <summary>
/// The screened α search: the same rule as <see cref="AlphaSweep.Choose"/>, in fewer full validation evaluations.
/// <list type="number">
/// <item>α = 0 is evaluated in full (it decides whether there is a backdoor and sets the CA floor).</item>
/// <item>Bracket: α doubles from <see cref="AlphaRule.FirstAlpha"/>, or, once two points show the ASR curve, jumps to half a
/// grid step past where a line in logit ASR through them crosses the target. Where that line predicts ASR ≥ 5× the target,
/// α gets a look first, and when the look shows (Chernoff, δ each) ASR above the target and CA above the floor, α is short of
/// the answer and no full evaluation is spent on it.</item>
/// <item>The answer sits where the curve first stops being short: ASR reaching the target (answer: the first feasible α)
/// or CA falling under the floor (answer: the last α above it). That crossing is estimated the same way (logit ASR, or CA,
/// linear in α), and each probe either moves the far bracket end to half a step past the estimate or, when the bracket
/// is already that tight, sits one grid step (<see cref="AlphaRule.MaxAlpha"/> / <see cref="AlphaRule.GridPoints"/>) in
/// from the answer's end, which closes the bracket if it lands on the expected side. After two probes in a row land on the
/// unexpected side the next one bisects, so a bad estimate cannot stall it.</item>
/// <item>The step is a grid step or 1/16 of the bracket's upper end, whichever is finer: α is resolved relative to its size.</item>
/// <item>When the upper end fails only by CA (ASR already met), one probe goes between the two estimated crossings: a
/// narrow feasible window there would otherwise be stepped over.</item>
/// </list>
/// The choice is made by the one rule (<see cref="Selection"/>) over the fully evaluated points only.
/// </summary>
public static class ScreenedSearch
{
    /// <summary>What is known at one α: a full point, or a look (kept for the curve estimates).</summary>
    sealed record Known(double Alpha, Rate Ca, Rate Asr, AlphaPoint? Full, bool Short);

    /// <summary>The finest resolution, as a share of the bracket's upper end: α is found to within 1/16 of itself.</summary>
    const double RelativeSteps = 16;

    // A look is only worth its images where ASR is expected far enough above the target for the one-sided test to show it.
    const double LookWorth = 5;

    /// <summary>
    /// Chooses α with <paramref name="evaluate"/> (full validation) and <paramref name="look"/> (subsets) under <paramref name="rule"/>.
    /// </summary>
    public static AlphaChoice Choose(Func<double, AlphaPoint> evaluate, Func<double, AlphaLook> look, AlphaRule rule)
    {
        if (rule.GridPoints < 1 || rule.LookSize < 1 || rule.LookDelta is <= 0 or >= 1 || rule.MaxAlpha <= 0 || rule.FirstAlpha <= 0)
            throw new TbarException($"screened α search: grid_points and look_size must be ≥ 1, look_delta in (0, 1), first_alpha and " +
                $"max_alpha > 0 (got {rule.GridPoints}, {rule.LookSize}, {rule.LookDelta}, {rule.FirstAlpha}, {rule.MaxAlpha})");
        var curve = new List<AlphaPoint>();
        var looks = new List<AlphaLook>();
        var known = new List<Known>();
        AlphaPoint Full(double a)
        {
            var p = evaluate(a);
            curve.Add(p);
            return p;
        }
        var start = Full(0);
        if (start.AttackSuccess.Value <= rule.AsrTarget) return AlphaSweep.NothingToRemove(start, rule, curve);
        double t = rule.AsrTarget, floor = rule.CaFloor * start.CleanAccuracy.Value, step = rule.MaxAlpha / rule.GridPoints;
        Known Probe(double a)
        {
            var line = AsrLine(known, t);
            if (line == null || Sigmoid(line.Value.At(a)) >= LookWorth * t)
            {
                var l = look(a);
                looks.Add(l);
                if (Chernoff.Above(l.AttackSuccess, t, rule.LookDelta) && Chernoff.Above(l.CleanAccuracy, floor, rule.LookDelta))
                    return Add(new Known(a, l.CleanAccuracy, l.AttackSuccess, null, true));
            }
            var p = Full(a);
            return Add(new Known(a, p.CleanAccuracy, p.AttackSuccess, p, p.AttackSuccess.Value > t && p.CleanAccuracy.Value >= floor));
        }
        Known Add(Known k)
        {
            known.Add(k);
            known.Sort((x, y) => x.Alpha.CompareTo(y.Alpha));
            return k;
        }
        var lo = Add(new Known(0, start.CleanAccuracy, start.AttackSuccess, start, true));
        Known? hi = null;
        for (double a = rule.FirstAlpha; hi == null; a = Math.Min(Widen(lo, known, t, step, rule.FirstAlpha), rule.MaxAlpha))
        {
            var k = Probe(a);
            if (!k.Short) hi = k;
            else if ((lo = k).Alpha >= rule.MaxAlpha) break;
        }
        // The answer's resolution: a grid step, or a sixteenth of the bracket's upper end when that is finer, so that a model
        // whose α* is small (rn18-clip: ≈ 0.5 against a 0.4 step) is not negated up to twice as far as it needs.
        if (hi != null) step = Math.Min(step, hi.Alpha / RelativeSteps);
        for (bool windowTried = false; ; windowTried = true)
        {
            for (int surprises = 0; hi != null && hi.Alpha - lo.Alpha > step * (1 + 1e-9);)
            {
                var (x, expectShort) = surprises >= 2 ? ((lo.Alpha + hi.Alpha) / 2, (bool?)null) : Next(lo, hi, known, t, floor, step);
                var k = Probe(x);
                surprises = expectShort == null ? 0 : k.Short == expectShort ? 0 : surprises + 1;
                if (k.Short) lo = k; else hi = k;
            }
            // An upper end that fails only by CA may hide a feasible window: ASR met before CA leaves the floor. One probe inside.
            if (windowTried || hi == null || hi.Asr.Value > t || hi.Ca.Value >= floor || Window(lo, hi, known, t, floor) is not double w) break;
            var inWindow = Probe(w);
            if (inWindow.Short) lo = inWindow; else hi = inWindow;
        }
        bool answerIsLo = hi == null || hi.Asr.Value > t || hi.Ca.Value < floor;
        if (answerIsLo && lo.Full == null) Full(lo.Alpha);
        if (hi == null && rule.ValleySteps > 0) AlphaSweep.Valley(Full, curve, rule, floor, looks.Select(l => l.Alpha));
        return AlphaSweep.Decide(curve, rule, floor) with { Looks = looks.OrderBy(l => l.Alpha).ToList() };
    }

    /// <summary>The next bracket probe past <paramref name="lo"/>: double it, or half a step past the predicted crossing if that is nearer.</summary>
    static double Widen(Known lo, List<Known> known, double t, double step, double first)
    {
        double next = lo.Alpha == 0 ? first : 2 * lo.Alpha;
        var line = AsrLine(known, t);
        if (line is not { Slope: < 0 } l) return next;
        return Math.Min(next, Math.Max(lo.Alpha + step, l.Where(Logit(t)) + step / 2));
    }

    /// <summary>
    /// The next probe inside (lo, hi), aimed at the crossing on the answer's side (see the class summary), and whether it is
    /// expected to be short; two unexpected outcomes in a row make the next probe a bisection.
    /// </summary>
    static (double X, bool? ExpectShort) Next(Known lo, Known hi, List<Known> known, double t, double floor, double step)
    {
        bool asrSide = hi.Asr.Value <= t && hi.Ca.Value >= floor;
        var inside = known.Where(k => k.Alpha >= lo.Alpha && k.Alpha <= hi.Alpha).ToList();
        double asrAt = AsrLine(inside, t) is { Slope: < 0 } a ? a.Where(Logit(t)) : hi.Alpha;
        double caAt = Line(inside, k => k.Ca, floor) is { Slope: < 0 } c ? c.Where(floor) : hi.Alpha;
        double at = asrSide ? asrAt : Math.Min(asrAt, caAt);
        // Move the far end up to the estimate, or, once it is there, probe one step in from the answer's end.
        var (x, expectShort) = asrSide
            ? (at + step / 2 < hi.Alpha - step / 2 ? (at + step / 2, false) : (hi.Alpha - step, true))
            : (at - step / 2 > lo.Alpha + step / 2 ? (at - step / 2, true) : (lo.Alpha + step, false));
        double margin = Math.Min(step / 4, (hi.Alpha - lo.Alpha) / 10);
        return (Math.Clamp(x, lo.Alpha + margin, hi.Alpha - margin), expectShort);
    }

    /// <summary>The middle of the estimated window (ASR meets the target, CA still holds the floor) inside (lo, hi), if any.</summary>
    static double? Window(Known lo, Known hi, List<Known> known, double t, double floor)
    {
        var inside = known.Where(k => k.Alpha >= lo.Alpha && k.Alpha <= hi.Alpha).ToList();
        if (AsrLine(inside, t) is not { Slope: < 0 } a || Line(inside, k => k.Ca, floor) is not { Slope: < 0 } c) return null;
        double from = a.Where(Logit(t)), to = c.Where(floor);
        if (from >= to) return null;
        double margin = (hi.Alpha - lo.Alpha) / 10;
        return Math.Clamp((from + to) / 2, lo.Alpha + margin, hi.Alpha - margin);
    }

    /// <summary>A line y = Intercept + Slope·α.</summary>
    readonly record struct Fit(double Slope, double Intercept)
    {
        public double At(double alpha) => Intercept + Slope * alpha;
        public double Where(double y) => (y - Intercept) / Slope;
    }

    /// <summary>The logit-ASR line through the two informative points nearest the target's crossing.</summary>
    static Fit? AsrLine(List<Known> known, double t) => Line(known, k => k.Asr, Logit(t), logit: true);

    /// <summary>
    /// The secant of a rate through two points (sorted by α) with at least two hits and two misses: the adjacent pair that
    /// straddles <paramref name="level"/> (in logit when <paramref name="logit"/>) when there is one, else the last two (extrapolating).
    /// </summary>
    static Fit? Line(List<Known> known, Func<Known, Rate> rate, double level, bool logit = false)
    {
        var points = known.Select(k => (k.Alpha, Rate: rate(k))).Where(p => p.Rate.Hits >= 2 && p.Rate.Total - p.Rate.Hits >= 2)
            .Select(p => (X: p.Alpha, Y: logit ? Logit(p.Rate) : p.Rate.Value)).ToList();
        if (points.Count < 2) return null;
        int pair = points.Count - 2;
        for (int i = 0; i + 1 < points.Count; i++)
            if (points[i].Y > level && points[i + 1].Y <= level) pair = i;
        var (p0, p1) = (points[pair], points[pair + 1]);
        if (p1.X == p0.X) return null;
        double slope = (p1.Y - p0.Y) / (p1.X - p0.X);
        return new Fit(slope, p0.Y - slope * p0.X);
    }

    static double Logit(Rate r) => Logit((double)r.Hits / r.Total);

    static double Logit(double q) => Math.Log(Math.Clamp(q, 1e-9, 1 - 1e-9) / (1 - Math.Clamp(q, 1e-9, 1 - 1e-9)));

    static double Sigmoid(double y) => 1 / (1 + Math.Exp(-y));
}
