using Tbar.Models;

namespace Tbar.Unlearning;

/// <summary>
/// The unlearning methods by the names users type. Every method takes the backdoored model (cleaned in place), the head,
/// the task, its options and a progress sink, and returns its record.
/// </summary>
public static class Methods
{
    delegate UnlearnResult Method(Clip model, ZeroShotHead head, UnlearnTask task, MethodOptions o, IProgress<TrainProgress>? progress);

    static readonly Dictionary<string, Method> Registry = new(StringComparer.Ordinal)
    {
        ["tbar"] = (m, h, t, o, p) => TbarMethod.Run(m, h, t, o.Tbar, p),
        // TBAR with the trigger vector estimated under an embedding-consistency penalty on clean images (see the README).
        ["tbar-consistent"] = (m, h, t, o, p) => TbarMethod.Run(m, h, t, o.Consistent, p, "tbar-consistent"),
        // Kept as an alias of `tbar --ca-floor 0.75`, the name the README's earlier tables use.
        ["tbar-floor75"] = (m, h, t, o, p) => TbarMethod.Run(m, h, t, o.Tbar with { Rule = o.Tbar.Rule with { CaFloor = 0.75 } }, p, "tbar-floor75"),
        ["tbar-refit"] = (m, h, t, o, p) => TbarRefit.Run(m, h, t, o.Tbar, o.Refit, p),
        ["tbar-proj"] = (m, h, t, o, _) => ProjectedTbar.Run(m, h, t, o.Tbar),
        ["repair"] = (m, h, t, o, _) => TbarRefit.RepairOnly(m, h, t, o.Refit),
        ["finetune"] = (m, h, t, o, _) => Baselines.FineTuneClean(m, h, t, o.Baseline),
        ["ft-relabel"] = (m, h, t, o, _) => Baselines.FineTuneRelabel(m, h, t, o.Baseline),
        ["ga"] = (m, h, t, o, _) => Baselines.GradientAscent(m, h, t, o.Baseline),
        ["cleanclip"] = (m, h, t, o, _) => CleanClipStyle.Run(m, h, t, o.CleanClip),
    };

    /// <summary>The methods that re-fit weights on clean data after (or instead of) negation, so α alone does not say what acted.</summary>
    static readonly HashSet<string> Repairing = new(StringComparer.Ordinal) { "tbar-refit", "repair" };

    /// <summary>Whether the method ends with a re-fit on clean data (see <see cref="Repairing"/>).</summary>
    public static bool IncludesRepair(string name) => Repairing.Contains(name);

    /// <summary>Valid method names.</summary>
    public static IReadOnlyCollection<string> Names => Registry.Keys;

    /// <summary>Throws naming the valid methods when <paramref name="name"/> is not one.</summary>
    public static void Check(string name)
    {
        if (!Registry.ContainsKey(name)) throw new TbarException($"unknown method '{name}' (valid: {string.Join(", ", Registry.Keys)})");
    }

    /// <summary>Runs a method by name with the default options.</summary>
    public static UnlearnResult Run(string name, Clip model, ZeroShotHead head, UnlearnTask task) =>
        Run(name, model, head, task, MethodOptions.Default, null);

    /// <summary>Runs a method by name; an unknown name lists the valid ones.</summary>
    public static UnlearnResult Run(string name, Clip model, ZeroShotHead head, UnlearnTask task, MethodOptions options,
        IProgress<TrainProgress>? progress)
    {
        Check(name);
        return Registry[name](model, head, task, options, progress);
    }
}
