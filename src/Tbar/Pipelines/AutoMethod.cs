using System.Diagnostics;
using Tbar.Evaluation;
using Tbar.Models;
using Tbar.Unlearning;
using static TorchSharp.torch;

namespace Tbar.Pipelines;

/// <summary>One candidate of <c>--method auto</c>, on validation only.</summary>
/// <param name="Method">Registry name.</param>
/// <param name="Validation">Validation CA, ASR and target-class CA of its output.</param>
/// <param name="DurabilityAsr">Validation ASR after the durability fine-tune of its output (null: not measured).</param>
/// <param name="Alpha">Its chosen α, where it chooses one.</param>
/// <param name="Choice">Its own account of its choice.</param>
/// <param name="Seconds">Wall time of the method.</param>
public sealed record AutoCandidate(string Method, AlphaPoint Validation, double? DurabilityAsr, double? Alpha, string Choice, double Seconds)
{
    /// <summary>Whether it removed the backdoor on validation (ASR ≤ <see cref="AutoMethod.AsrTarget"/>).</summary>
    public bool Removes => Validation.AttackSuccess.Value <= AutoMethod.AsrTarget;

    /// <summary>Whether its removal survives the durability fine-tune (ASR after ≤ <see cref="AutoMethod.DurabilityBar"/>).</summary>
    public bool Durable => DurabilityAsr is double d && d <= AutoMethod.DurabilityBar;
}

/// <summary>What <c>--method auto</c> (and the demo's recommendation) chose, from which candidates, and why.</summary>
/// <param name="Method">The chosen method, or null when none removed the backdoor on validation.</param>
/// <param name="Reason">One paragraph.</param>
/// <param name="Candidates">Every candidate, in the order run.</param>
/// <param name="Skipped">Candidates that could not run on this forget source, with the reason.</param>
public sealed record AutoChoice(string? Method, string Reason, IReadOnlyList<AutoCandidate> Candidates, IReadOnlyList<string> Skipped);

/// <summary>
/// <c>tbar unlearn --method auto</c>: every candidate method on the same splits, each output given a durability check (one
/// short clean fine-tune on <see cref="DurabilitySize"/> images of the defender's pool that no split holds, then validation ASR
/// again), and one rule on validation only: among candidates that remove the backdoor, a durable one wins over any that is
/// not; then the highest validation CA. The test split is never read.
/// </summary>
public static class AutoMethod
{
    /// <summary>Validation ASR at most this, to count as removing the backdoor.</summary>
    public const double AsrTarget = 0.01;

    /// <summary>Validation ASR after the durability fine-tune at most this, to count as durable (the relapse bar).</summary>
    public const double DurabilityBar = 0.10;

    /// <summary>Held-out clean images of the durability fine-tune.</summary>
    public const int DurabilitySize = 500;

    /// <summary>The candidates when none are named.</summary>
    public static readonly string[] DefaultCandidates = ["tbar-consistent", "tbar", "ft-relabel", "repair"];

    /// <summary>
    /// Runs the candidates from the model's weights (θ_b), leaves the chosen one's output in the model (θ_b when none removes
    /// the backdoor) and returns its record with the choice. <paramref name="heldOut"/> are <see cref="UnlearnTask.CleanPool"/>
    /// indices in no split of the task (<see cref="UnlearnTask.HeldOut"/>).
    /// </summary>
    public static (AutoChoice Choice, UnlearnResult? Record) Run(Clip model, ZeroShotHead head, UnlearnTask task, long[] heldOut,
        IReadOnlyList<string>? candidates, MethodOptions options, Action<string>? status = null, IProgress<TrainProgress>? progress = null)
    {
        var (names, skipped) = Candidates(candidates, task);
        if (heldOut.Length == 0) throw new TbarException("no clean images are left outside the task's splits for the durability check; " +
            "lower --forget-size or --val-size");
        var start = VisualWeights.Snapshot(model);
        var rows = new List<AutoCandidate>();
        (AutoCandidate Row, UnlearnResult Record, Dictionary<string, Tensor> Weights)? best = null;
        foreach (var name in names)
        {
            status?.Invoke($"auto: {name}");
            VisualWeights.Restore(model, start);
            var clock = Stopwatch.StartNew();
            var record = Methods.Run(name, model, head, task, options, progress);
            double seconds = clock.Elapsed.TotalSeconds;
            var row = new AutoCandidate(name, record.Validation, Durability(model, head, task, heldOut), record.Alpha?.Alpha, record.Choice, seconds);
            rows.Add(row);
            if (best == null || Better(row, best.Value.Row))
            {
                if (best != null) Drop(best.Value);
                best = (row, record, VisualWeights.Snapshot(model));
            }
            else record.Tau?.Dispose();
        }
        var choice = Choose(rows, skipped);
        if (choice.Method != null) VisualWeights.Restore(model, best!.Value.Weights);
        else VisualWeights.Restore(model, start);
        VisualWeights.Dispose(best == null ? [start] : [start, best.Value.Weights]);
        return (choice, choice.Method != null ? best!.Value.Record : null);
    }

    static void Drop((AutoCandidate Row, UnlearnResult Record, Dictionary<string, Tensor> Weights) entry)
    {
        entry.Record.Tau?.Dispose();
        VisualWeights.Dispose([entry.Weights]);
    }

    /// <summary>The candidate list, less the methods this forget source cannot feed (named with the reason).</summary>
    public static (List<string> Names, List<string> Skipped) Candidates(IReadOnlyList<string>? named, UnlearnTask task)
    {
        var list = (named ?? DefaultCandidates).ToList();
        if (list.Count == 0) throw new TbarException("--method auto needs at least one candidate");
        foreach (var n in list) Methods.Check(n);
        if (list.Contains("auto")) throw new TbarException("'auto' cannot be its own candidate");
        if (task.ForgetLabelsKnown) return (list, []);
        var skipped = list.Where(Methods.NeedsForgetLabels).ToList();
        var names = list.Except(skipped).ToList();
        if (names.Count == 0)
            throw new TbarException($"none of the candidates ({string.Join(", ", list)}) can run without the forget images' true classes");
        return (names, [.. skipped.Select(n => $"{n}: needs the forget images' true classes, which a folder of triggered images does not give")]);
    }

    /// <summary>
    /// The candidates' work (<see cref="Methods.Work"/>) plus each one's durability check (one clean epoch on
    /// <see cref="DurabilitySize"/> images and an evaluation), for the probe's estimate; null when a candidate's is not known.
    /// </summary>
    public static MethodWork? Work(IReadOnlyList<string>? candidates, UnlearnTask task, MethodOptions options)
    {
        var works = Candidates(candidates, task).Names.Select(n => Methods.Work(n, task, options)).ToList();
        if (works.Any(w => w == null)) return null;
        int check = Training.TrainLoop.Steps(DurabilitySize, Defaults.Relapse);
        return new(works.Sum(w => w!.Steps + check), works.Sum(w => w!.Evaluations + 1));
    }

    /// <summary>Validation ASR after one clean epoch on <paramref name="heldOut"/> (the relapse recipe); weights restored after.</summary>
    public static double Durability(Clip model, ZeroShotHead head, UnlearnTask task, long[] heldOut)
    {
        var preprocess = model.Config.Preprocess;
        return MethodEvaluation.AfterFineTune(model, head, heldOut.Length, positions =>
        {
            var ids = positions.Select(p => heldOut[p]).ToArray();
            using var raw = task.CleanPool.Images(ids);
            return (Preprocess.Apply(raw, preprocess), task.CleanPool.LabelTensor(ids));
        }, Defaults.Relapse, () => task.Point(model, head, 0).AttackSuccess.Value);
    }

    /// <summary>The rule's order: removes before not; among removers durable before not, then higher CA; else lower ASR.</summary>
    static bool Better(AutoCandidate a, AutoCandidate b)
    {
        if (a.Removes != b.Removes) return a.Removes;
        if (!a.Removes) return a.Validation.AttackSuccess.Value < b.Validation.AttackSuccess.Value;
        if (a.Durable != b.Durable) return a.Durable;
        return a.Validation.CleanAccuracy.Value > b.Validation.CleanAccuracy.Value;
    }

    /// <summary>The rule applied to measured candidates (validation numbers only).</summary>
    public static AutoChoice Choose(IReadOnlyList<AutoCandidate> rows, IReadOnlyList<string> skipped)
    {
        if (rows.Count == 0) return new(null, "No candidate was run.", rows, skipped);
        var best = rows.Aggregate((a, b) => Better(b, a) ? b : a);
        if (!best.Removes)
            return new(null, $"No candidate brought validation ASR to ≤ {AsrTarget:P0}; the lowest was {best.Method} " +
                $"({best.Validation.AttackSuccess.Value:P2}). Do not deploy this model; collect more clean data or a better forget set.", rows,
                    skipped);
        string kind = best.Alpha is > 0 ? $"negation with α = {best.Alpha:G3}" + (Methods.IncludesRepair(best.Method) ? " and a re-fit" : "")
            : best.Alpha is 0 ? "its chosen α is 0, so it is a repair, not TBAR" : "a fine-tuning method, not arithmetic";
        string durability = best.DurabilityAsr == null ? "its durability was not measured"
            : best.Durable
            ? $"after one clean epoch on {DurabilitySize} held-out images its validation ASR is {best.DurabilityAsr:P2} " +
                $"(≤ {DurabilityBar:P0}: durable)"
            : $"**warning:** after one clean epoch on held-out images its validation ASR is {best.DurabilityAsr:P2} (> {DurabilityBar:P0}): " +
                "no candidate that removes the backdoor is durable, so this one mutes it rather than removing it";
        var beaten = rows.Where(r => r != best && r.Removes && r.Validation.CleanAccuracy.Value > best.Validation.CleanAccuracy.Value && !r.Durable)
            .Select(r => $"{r.Method} (validation CA {r.Validation.CleanAccuracy.Value:P2}, but ASR {r.DurabilityAsr:P2} after the durability check)")
            .ToList();
        return new(best.Method, $"**{best.Method}**: validation ASR {best.Validation.AttackSuccess.Value:P2} at validation CA " +
            $"{best.Validation.CleanAccuracy.Value:P2}; {kind}; {durability}." +
            (beaten.Count > 0 ? $" Passed over for relapsing: {string.Join("; ", beaten)}." : "") +
            (skipped.Count > 0 ? $" Not run: {string.Join("; ", skipped)}." : ""), rows, skipped);
    }
}
