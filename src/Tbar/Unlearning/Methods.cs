using Tbar.Io;
using Tbar.Models;
using Tbar.Training;
using static TorchSharp.torch;

namespace Tbar.Unlearning;

/// <summary>
/// The unlearning methods by the names users type, and the default method sets: the one list that the CLI, the demo, the
/// experiments and error messages read. Every method takes the backdoored model (cleaned in place), the head, the task, its
/// options and a progress sink, and returns its record. Besides the names, "tbar:ESTIMATOR" is TBAR with any τ estimator of
/// <see cref="TauEstimators"/> (a name or a "tau:…" spec) under tbar-consistent's α rule, for comparing estimators fairly.
/// </summary>
public static class Methods
{
    delegate UnlearnResult Method(Clip model, ZeroShotHead head, UnlearnTask task, MethodOptions o, IProgress<TrainProgress>? progress);

    /// <summary>A registered method and what it needs.</summary>
    /// <param name="Run">The method.</param>
    /// <param name="Repairs">It re-fits weights on clean data after (or instead of) negation, so α alone does not say what acted.</param>
    /// <param name="NeedsForgetLabels">It needs the forget images' true classes (not known for a folder of triggered images).</param>
    /// <param name="Negation">For a plain negation method (TBAR with one estimator and α rule), the options it runs with.</param>
    /// <param name="Work">Its work for the probe's estimate (<see cref="Methods.Work"/>); null when it depends on what it finds.</param>
    sealed record Entry(Method Run, bool Repairs = false, bool NeedsForgetLabels = false, Func<MethodOptions, TbarOptions>? Negation = null,
        Func<UnlearnTask, MethodOptions, MethodWork>? Work = null);

    /// <summary>A negation method: its record runs TBAR with the options <paramref name="options"/> picks.</summary>
    static Entry Negating(Func<MethodOptions, TbarOptions> options, string name) =>
        new((m, h, t, o, p) => TbarMethod.Run(m, h, t, options(o), p, name), Negation: options,
            Work: (t, o) => NegationWork(t, options(o)));

    /// <summary>A negation's work: its τ fine-tune and a typical α search.</summary>
    static MethodWork NegationWork(UnlearnTask task, TbarOptions options) =>
        new(TrainLoop.Steps(task.Forget.Indices.Length, options.Recipe), AlphaSearchEvaluations);

    /// <summary>A learning-rate sweep's work (FT-relabel, fine-tuning): each LR's run and its evaluation, and the start's.</summary>
    static MethodWork SweepWork(UnlearnTask task, MethodOptions o) =>
        new(Baselines.RelabelSteps(task, o.Baseline) * o.Baseline.LearningRates.Length, o.Baseline.LearningRates.Length + 1);

    /// <summary>The prefix of TBAR with a named τ estimator, e.g. "tbar:tangent".</summary>
    public const string EstimatorPrefix = "tbar:";

    /// <summary>
    /// The suffix of negation-then-relabel: "tbar-consistent+relabel" runs that TBAR method, then FT-relabel on the
    /// negated model for the steps FT-relabel alone would take less those of the τ fine-tune, on the same data.
    /// </summary>
    public const string RelabelSuffix = "+relabel";

    /// <summary>
    /// The suffix of negation-then-path-aware-relabelling: "+pam" (or "+pam:SHARE") is "+relabel" with each relabelling step's
    /// gradients taken a share of the way back to the backdoored model (<see cref="PathAware"/>, default
    /// <see cref="DefaultPathShare"/>).
    /// </summary>
    public const string PathAwareSuffix = "+pam";

    /// <summary>The share of the way back to θ_b at which "+pam" takes its gradients.</summary>
    public const double DefaultPathShare = 0.5;

    /// <summary>A negation followed by relabelling: the negation's name and, for "+pam", the path-aware share.</summary>
    sealed record FollowUp(string First, double? PathShare);

    static readonly System.Text.RegularExpressions.Regex PathAwarePattern = new(@"\+pam(?::([0-9]*\.?[0-9]+))?$");

    /// <summary>The follow-up a method name ends with, or null when it has none.</summary>
    static FollowUp? FollowUpOf(string name)
    {
        if (name.EndsWith(RelabelSuffix, StringComparison.Ordinal)) return new(name[..^RelabelSuffix.Length], null);
        var m = PathAwarePattern.Match(name);
        if (!m.Success) return null;
        double share = m.Groups[1].Success
            ? double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : DefaultPathShare;
        if (!(share > 0 && share <= 1)) throw new TbarException($"'{name}': the share of {PathAwareSuffix}:SHARE must be in (0, 1]");
        return new(name[..m.Index], share);
    }

    static readonly Dictionary<string, Entry> Registry = new(StringComparer.Ordinal)
    {
        ["tbar"] = Negating(o => o.Tbar, "tbar"),
        // TBAR with the trigger vector estimated under an embedding-consistency penalty on clean images (see the README).
        ["tbar-consistent"] = Negating(o => o.Consistent, "tbar-consistent"),
        // Kept as an alias of `tbar --ca-floor 0.75`, the name the README's earlier tables use.
        ["tbar-floor75"] = Negating(o => o.Tbar with { Rule = o.Tbar.Rule with { CaFloor = 0.75 } }, "tbar-floor75"),
        ["tbar-refit"] = new((m, h, t, o, p) => TbarRefit.Run(m, h, t, o.Tbar, o.Refit, p), Repairs: true, NeedsForgetLabels: true),
        ["tbar-proj"] = new((m, h, t, o, _) => ProjectedTbar.Run(m, h, t, o.Tbar)),
        // The repair trains the last layers only: its work is counted as whole-tower steps, an upper bound.
        ["repair"] = new((m, h, t, o, _) => TbarRefit.RepairOnly(m, h, t, o.Refit), Repairs: true, NeedsForgetLabels: true,
            Work: (t, o) => new(TrainLoop.Steps(t.RelabelledCount, o.Refit.Recipe), 1)),
        ["finetune"] = new((m, h, t, o, _) => Baselines.FineTuneClean(m, h, t, o.Baseline), Work: SweepWork),
        ["ft-relabel"] = new((m, h, t, o, _) => Baselines.FineTuneRelabel(m, h, t, o.Baseline), NeedsForgetLabels: true, Work: SweepWork),
        ["ga"] = new((m, h, t, o, _) => Baselines.GradientAscent(m, h, t, o.Baseline)),
        ["cleanclip"] = new((m, h, t, o, _) => CleanClipStyle.Run(m, h, t, o.CleanClip)),
    };

    /// <summary>The main table's methods; cleanclip runs on contrastive attacks only.</summary>
    public static readonly string[] MainDefault =
        ["tbar", "tbar-consistent", "tbar-floor75", "tbar-refit", "repair", "finetune", "ft-relabel", "ga", "cleanclip"];

    /// <summary>The demo's methods on the mini-CLIP.</summary>
    public static readonly string[] DemoDefault = ["tbar", "tbar-consistent", "tbar-floor75", "tbar-refit", "ft-relabel", "finetune", "ga"];

    /// <summary>The demo's methods on a ResNet tower (the costly baselines left out).</summary>
    public static readonly string[] DemoResNet = ["tbar", "tbar-consistent", "tbar-refit"];

    /// <summary>Whether the method ends with a re-fit on clean data.</summary>
    public static bool IncludesRepair(string name) =>
        FollowUpOf(name) != null || Registry.TryGetValue(name, out var e) && e.Repairs;

    /// <summary>Whether the method needs the forget images' true classes.</summary>
    public static bool NeedsForgetLabels(string name) =>
        FollowUpOf(name) != null || Registry.TryGetValue(name, out var e) && e.NeedsForgetLabels;

    /// <summary>The registered methods that work without the forget images' true classes.</summary>
    public static IEnumerable<string> WithoutForgetLabels => Registry.Where(e => !e.Value.NeedsForgetLabels).Select(e => e.Key);

    /// <summary>Valid method names (and, beyond them, "tbar:ESTIMATOR").</summary>
    public static IReadOnlyCollection<string> Names => Registry.Keys;

    /// <summary>Throws naming the valid methods when <paramref name="name"/> is not one.</summary>
    public static void Check(string name)
    {
        if (FollowUpOf(name) is { First: var first })
        {
            if (!IsNegation(first))
                throw new TbarException($"'{name}': only a TBAR method " +
                    $"({string.Join(", ", Registry.Where(e => e.Value.Negation != null).Select(e => e.Key))} or " +
                    $"{EstimatorPrefix}ESTIMATOR) can be followed by {RelabelSuffix} or {PathAwareSuffix}");
            Check(first);
            return;
        }
        if (name.StartsWith(EstimatorPrefix, StringComparison.Ordinal))
        {
            TauEstimators.Get(name[EstimatorPrefix.Length..], TbarOptions.Default.Recipe);
            return;
        }
        if (!Registry.ContainsKey(name))
            throw new TbarException($"unknown method '{name}' (valid: {string.Join(", ", Registry.Keys)}, " +
                $"or {EstimatorPrefix}ESTIMATOR with an estimator of " +
                $"{string.Join(", ", TauEstimators.Names)})");
    }

    /// <summary>Runs a method by name; an unknown name lists the valid ones.</summary>
    public static UnlearnResult Run(string name, Clip model, ZeroShotHead head, UnlearnTask task, MethodOptions options,
        IProgress<TrainProgress>? progress)
    {
        Check(name);
        if (FollowUpOf(name) is { } followUp) return NegateThenRelabel(name, followUp, model, head, task, options, progress);
        if (!name.StartsWith(EstimatorPrefix, StringComparison.Ordinal)) return Registry[name].Run(model, head, task, options, progress);
        var tbar = options.Consistent with { Tau = name[EstimatorPrefix.Length..] };
        return TbarMethod.Run(model, head, task, tbar, progress, name);
    }

    /// <summary>
    /// About how much work a method does, for the probe's estimate (<see cref="Pipelines.RunProbe"/>): optimiser steps of the τ
    /// fine-tune's batch size and full validation evaluations. Null for methods whose work depends on what they find
    /// (gradient ascent's early stop, TBAR-refit's grid, the projection, CleanCLIP's schedule).
    /// </summary>
    public static MethodWork? Work(string name, UnlearnTask task, MethodOptions options)
    {
        if (FollowUpOf(name) is { First: var first })
        {
            // The τ fine-tune once, then every LR of the sweep on what is left of FT-relabel's budget.
            var negation = NegationWork(task, NegationOptions(first, options));
            var sweep = SweepWork(task, options);
            int lrs = options.Baseline.LearningRates.Length;
            return new(sweep.Steps - negation.Steps * (lrs - 1), negation.Evaluations + sweep.Evaluations);
        }
        if (name.StartsWith(EstimatorPrefix, StringComparison.Ordinal)) return NegationWork(task, NegationOptions(name, options));
        return Registry.TryGetValue(name, out var e) ? e.Work?.Invoke(task, options) : null;
    }

    /// <summary>Full evaluations a typical α search takes (doubling, then bisection; docs/alpha-search.md): for estimates only.</summary>
    public const int AlphaSearchEvaluations = 10;

    static bool IsNegation(string name) =>
        name.StartsWith(EstimatorPrefix, StringComparison.Ordinal) || Registry.TryGetValue(name, out var e) && e.Negation != null;

    /// <summary>The TBAR options a negation method runs with (for its τ fine-tune's step count).</summary>
    static TbarOptions NegationOptions(string name, MethodOptions o) =>
        Registry.TryGetValue(name, out var e) && e.Negation != null ? e.Negation(o) : o.Consistent with { Tau = name[EstimatorPrefix.Length..] };

    /// <summary>
    /// Negation, then relabelling, on FT-relabel's step budget: the τ fine-tune's optimiser steps are taken from the
    /// relabelling's, so the pair sees the same clean images and takes as many steps as FT-relabel alone. Path-aware
    /// relabelling keeps θ_b (the model before the negation) as its anchor.
    /// </summary>
    static UnlearnResult NegateThenRelabel(string name, FollowUp followUp, Clip model, ZeroShotHead head, UnlearnTask task,
        MethodOptions options, IProgress<TrainProgress>? progress)
    {
        var first = followUp.First;
        int tauSteps = TrainLoop.Steps(task.Forget.Indices.Length, NegationOptions(first, options).Recipe);
        int left = Baselines.RelabelSteps(task, options.Baseline) - tauSteps;
        if (left < 1)
            throw new TbarException($"{name}: no optimiser steps left for the relabelling (FT-relabel's budget " +
                $"{Baselines.RelabelSteps(task, options.Baseline)}, the τ fine-tune takes {tauSteps})");
        // θ_b waits on disk while the negation runs (its τ fine-tune is the memory peak), as the τ fine-tune's own copy does.
        using var spilled = followUp.PathShare == null ? null : SpilledTensors.Write(VisualWeights.Live(model));
        var negation = Run(first, model, head, task, options, progress);
        var device = model.Visual.parameters().First().device;
        Tensor Read(string key)
        {
            var saved = spilled!.Read(key);
            if (saved.device == device) return saved;
            using (saved) return saved.to(device);
        }
        var anchor = spilled == null ? null : VisualWeights.Keys(model).Select(Read).ToList();
        try
        {
            var path = anchor == null ? null : new PathAware(anchor, followUp.PathShare!.Value);
            var relabel = Baselines.FineTuneRelabelSteps(name, model, head, task, options.Baseline, left, progress, path);
            string how = path == null ? "" : $" (path-aware: gradients taken {path.Share:G3} of the way back to θ_b)";
            return new UnlearnResult(name, negation.Alpha, $"{negation.Choice}; then {tauSteps} fewer relabelling steps{how}, {relabel.Choice}",
                relabel.Validation, negation.Tau, negation.Seconds + relabel.Seconds, relabel.Extra);
        }
        finally
        {
            foreach (var t in anchor ?? []) t.Dispose();
        }
    }
}

/// <summary>A method's work for an estimate: optimiser steps and full validation evaluations.</summary>
public sealed record MethodWork(int Steps, int Evaluations);
