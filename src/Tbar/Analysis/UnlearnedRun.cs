using Tbar.Unlearning;

namespace Tbar.Analysis;

/// <summary>What the weight-space analyses take from a `tbar unlearn --forget trigger:SPEC` output.</summary>
/// <param name="Backdoored">θ_b: the model the run started from.</param>
/// <param name="TauPath">τ_t, the trigger vector the run saved.</param>
/// <param name="Alpha">α*, the chosen scale (0 when the method chose none).</param>
/// <param name="TriggerSpec">The known trigger the forget set was made with.</param>
/// <param name="Target">The target class.</param>
public sealed record UnlearnedRun(string Backdoored, string TauPath, double Alpha, string TriggerSpec, string Target)
{
    public static UnlearnedRun Read(string dir)
    {
        string tau = Path.Combine(dir, UnlearnRecord.TauFileName);
        if (!File.Exists(tau))
            throw new TbarException($"{dir}: not a `tbar unlearn` output with a trigger vector (no {UnlearnRecord.TauFileName})");
        var record = UnlearnRecord.Load(dir);
        string forget = record.Options.Forget;
        if (!forget.StartsWith("trigger:"))
            throw new TbarException($"{Path.Combine(dir, UnlearnRecord.FileName)}: the analysis needs a run with --forget trigger:SPEC (got {forget})");
        return new UnlearnedRun(record.Options.Model, tau, record.Results.Alpha ?? 0, forget["trigger:".Length..], record.Options.Target);
    }
}
