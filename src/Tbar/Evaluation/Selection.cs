namespace Tbar.Evaluation;

/// <summary>
/// The one selection rule every method's choice goes through: among candidates with validation ASR ≤ target and
/// CA ≥ floor, the largest CA (ties: the first, i.e. the gentlest setting); if none, the lowest ASR that keeps the floor.
/// </summary>
public static class Selection
{
    /// <summary>Picks from (setting, CA, ASR) candidates in the order given (gentlest first).</summary>
    public static (T Best, bool Feasible, string Reason) Pick<T>(IReadOnlyList<T> candidates, Func<T, double> ca, Func<T, double> asr,
        double asrTarget, double floor)
    {
        if (candidates.Count == 0) throw new ArgumentException("no candidates to choose from");
        var feasible = candidates.Where(c => asr(c) <= asrTarget && ca(c) >= floor).ToList();
        if (feasible.Count > 0)
        {
            var best = feasible.Aggregate((a, b) => ca(b) > ca(a) ? b : a);
            return (best, true, $"largest validation CA ({ca(best):P2}) with ASR ≤ {asrTarget:P0} and CA ≥ {floor:P2}");
        }
        var kept = candidates.Where(c => ca(c) >= floor).ToList();
        var fallback = kept.Count > 0
            ? kept.Aggregate((a, b) => asr(b) < asr(a) || (asr(b) == asr(a) && ca(b) > ca(a)) ? b : a)
            : candidates.Aggregate((a, b) => ca(b) > ca(a) ? b : a);
        return (fallback, false, $"no setting met ASR ≤ {asrTarget:P0} with CA ≥ {floor:P2}; kept the lowest-ASR one that holds the floor " +
            $"(ASR {asr(fallback):P2}, CA {ca(fallback):P2})");
    }
}
