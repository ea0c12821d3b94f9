using Tbar.Models;

namespace Tbar.Unlearning;

/// <summary>The unlearning methods by the names users type; all share one signature (model cleaned in place, record out).</summary>
public static class Methods
{
    static readonly Dictionary<string, Func<Clip, ZeroShotHead, UnlearnTask, UnlearnResult>> Registry = new(StringComparer.Ordinal)
    {
        ["tbar"] = (m, h, t) => TbarMethod.Run(m, h, t, TbarOptions.Default),
        // Plain TBAR with the CA floor lowered to 75%: what pure arithmetic costs when the backdoor must go.
        ["tbar-floor75"] = (m, h, t) => TbarMethod.Run(m, h, t, TbarOptions.Floor75),
        ["tbar-refit"] = (m, h, t) => TbarRefit.Run(m, h, t, TbarOptions.Default, RefitOptions.Default),
        ["tbar-proj"] = (m, h, t) => ProjectedTbar.Run(m, h, t, TbarOptions.Default),
        ["finetune"] = (m, h, t) => Baselines.FineTuneClean(m, h, t, BaselineOptions.Default),
        ["ga"] = (m, h, t) => Baselines.GradientAscent(m, h, t, BaselineOptions.Default),
        ["cleanclip"] = (m, h, t) => CleanClipStyle.Run(m, h, t, CleanClipOptions.Default),
    };

    /// <summary>Valid method names.</summary>
    public static IReadOnlyCollection<string> Names => Registry.Keys;

    /// <summary>Runs a method by name; an unknown name lists the valid ones.</summary>
    public static UnlearnResult Run(string name, Clip model, ZeroShotHead head, UnlearnTask task) =>
        Registry.TryGetValue(name, out var run) ? run(model, head, task)
            : throw new TbarException($"unknown method '{name}' (valid: {string.Join(", ", Registry.Keys)})");
}
