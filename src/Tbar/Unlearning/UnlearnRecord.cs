using Tbar.Io;

namespace Tbar.Unlearning;

/// <summary>The settings part of `tbar unlearn`'s report.json.</summary>
/// <param name="Model">The backdoored model it started from.</param>
/// <param name="Forget">The forget source as typed: trigger:SPEC, inverted:DIR or images:DIR.</param>
/// <param name="Target">The target class unlearned.</param>
/// <param name="Val">Data spec of the defender's clean images.</param>
/// <param name="Method">Registry name of the method.</param>
/// <param name="ForgetSize">Forget-set size.</param>
/// <param name="ValSize">Validation size.</param>
/// <param name="MethodOptions">Every method's resolved options (defaults, then the options file, then flags).</param>
public sealed record UnlearnSettings(string Model, string Forget, string Target, string Val, string Method, int ForgetSize, int ValSize,
    System.Text.Json.Nodes.JsonNode? MethodOptions = null);

/// <summary>One point of the validation α curve, with the target class's own validation CA where counted.</summary>
public sealed record UnlearnCurvePoint(double Alpha, double ValCa, double ValAsr, double? ValTargetCa = null)
{
    public static UnlearnCurvePoint Of(Evaluation.AlphaPoint p) => new(p.Alpha, p.CleanAccuracy.Value, p.AttackSuccess.Value, p.TargetClass?.Value);
}

/// <summary>The results part of report.json: the choice, validation numbers, time, α curve (α methods) and extras.</summary>
public sealed record UnlearnSummary(string Method, string Choice, double? Alpha, bool? Feasible, double ValCa, double ValAsr, double Seconds,
    IReadOnlyList<UnlearnCurvePoint>? Curve, object? Extra)
{
    public static UnlearnSummary From(UnlearnResult r) => new(r.Method, r.Choice, r.Alpha?.Alpha, r.Alpha?.Feasible,
        r.Validation.CleanAccuracy.Value, r.Validation.AttackSuccess.Value, r.Seconds,
        r.Alpha?.Curve.Select(UnlearnCurvePoint.Of).ToList(), r.Extra);
}

/// <summary>report.json and tau.safetensors of a `tbar unlearn` output folder, which `tbar analyze` reads back.</summary>
public static class UnlearnRecord
{
    public const string FileName = "report.json";
    public const string TauFileName = "tau.safetensors";

    public static void Save(string dir, string command, UnlearnSettings settings, long seed, UnlearnResult result, double seconds) =>
        new RunRecord(command, settings, seed, UnlearnSummary.From(result), seconds).Save(Path.Combine(dir, FileName));

    public static StoredRun<UnlearnSettings, UnlearnSummary> Load(string dir) =>
        StoredRun<UnlearnSettings, UnlearnSummary>.Load(Path.Combine(dir, FileName), "tbar unlearn");
}
