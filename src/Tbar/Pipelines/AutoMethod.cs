using System.Diagnostics;
using Tbar.Arithmetic;
using Tbar.Evaluation;
using Tbar.Io;
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
/// <param name="RetuneAsr">Validation ASR after the re-tune check of its output (<see cref="AutoMethod.Retune"/>; null: not measured).</param>
public sealed record AutoCandidate(string Method, AlphaPoint Validation, double? DurabilityAsr, double? Alpha, string Choice, double Seconds,
    double? RetuneAsr = null)
{
    /// <summary>Whether it removed the backdoor on validation (ASR ≤ <see cref="AutoMethod.AsrTarget"/>).</summary>
    public bool Removes => AutoMethod.Removed(Validation);

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
/// <c>tbar unlearn --method auto</c>: every candidate method on the same splits, each output given two checks on
/// <see cref="DurabilitySize"/> images of the defender's pool that no split holds: the durability check (one short clean
/// fine-tune, then validation ASR again) and the re-tune check (<see cref="Retune"/>: a short fine-tune that adds
/// <see cref="RetuneImages"/> triggered forget images labelled with the target). One rule on validation only: among
/// candidates that remove the backdoor, a durable one wins over any that is not; among those, one whose re-tune ASR is more
/// than <see cref="RetuneMargin"/> above the lowest is passed over (its backdoor is a few poisoned images away); then the
/// highest validation CA. The test split is never read.
/// </summary>
public static class AutoMethod
{
    /// <summary>Validation ASR at most this, to count as removing the backdoor.</summary>
    public const double AsrTarget = 0.01;

    /// <summary>Validation ASR after the durability fine-tune at most this, to count as durable (the relapse bar).</summary>
    public const double DurabilityBar = 0.10;

    /// <summary>Held-out clean images of the durability fine-tune (and the clean part of the re-tune check).</summary>
    public const int DurabilitySize = 500;

    /// <summary>Triggered forget images (labelled with the target) in the re-tune check, as k in the experiments' re-tune rows.</summary>
    public const int RetuneImages = 10;

    /// <summary>How far above the lowest re-tune ASR of the candidates in the running a candidate may be and stay in it.</summary>
    public const double RetuneMargin = 0.10;

    /// <summary>
    /// The candidates when none are named: the negations, the fair baselines, and negation followed by path-aware
    /// relabelling at the share that met every durability bar in 8 of 9 rn18-clip cells (experiments/durable).
    /// </summary>
    public static readonly string[] DefaultCandidates = ["tbar-consistent", "tbar", "ft-relabel", "repair", "tbar-consistent+pam:0.25"];

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
        // The rule compares each candidate with the others' re-tune ASRs, so every output waits on disk until all have run.
        var outputs = new List<(UnlearnResult Record, SpilledTensors Weights, string? Tau)>();
        try
        {
            foreach (var name in names)
            {
                status?.Invoke($"auto: {name}");
                VisualWeights.Restore(model, start);
                var clock = Stopwatch.StartNew();
                var record = Methods.Run(name, model, head, task, options, progress);
                double seconds = clock.Elapsed.TotalSeconds;
                status?.Invoke($"auto: {name}: durability and re-tune checks");
                rows.Add(new AutoCandidate(name, record.Validation, Durability(model, head, task, heldOut), record.Alpha?.Alpha, record.Choice,
                    seconds, RetuneIfRemoved(model, head, task, heldOut, record.Validation)));
                string? tau = null;
                if (record.Tau != null)
                {
                    tau = Path.Combine(Path.GetTempPath(), $"tbar-auto-{Guid.NewGuid():N}.safetensors");
                    record.Tau.Save(tau);
                    record.Tau.Dispose();
                }
                outputs.Add((record with { Tau = null }, SpilledTensors.Write(VisualWeights.Live(model)), tau));
            }
            var choice = Choose(rows, skipped);
            if (choice.Method == null)
            {
                VisualWeights.Restore(model, start);
                return (choice, null);
            }
            var (chosen, weights, tauFile) = outputs[rows.FindIndex(r => r.Method == choice.Method)];
            VisualWeights.Restore(model, weights);
            return (choice, chosen with { Tau = tauFile == null ? null : TaskVector.Load(tauFile) });
        }
        finally
        {
            VisualWeights.Dispose([start]);
            foreach (var (_, weights, tau) in outputs)
            {
                weights.Dispose();
                if (tau != null) File.Delete(tau);
            }
        }
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
    /// <see cref="DurabilitySize"/> images and an evaluation) and re-tune check (at most: it runs only where the backdoor was
    /// removed), for the probe's estimate; null when a candidate's is not known.
    /// </summary>
    public static MethodWork? Work(IReadOnlyList<string>? candidates, UnlearnTask task, MethodOptions options)
    {
        var works = Candidates(candidates, task).Names.Select(n => Methods.Work(n, task, options)).ToList();
        if (works.Any(w => w == null)) return null;
        int check = Training.TrainLoop.Steps(DurabilitySize, Defaults.Relapse) +
            Training.TrainLoop.Steps(RetuneImages + Math.Min(DurabilitySize, Defaults.Retune.CleanImages), Defaults.Retune.Recipe);
        return new(works.Sum(w => w!.Steps + check), works.Sum(w => w!.Evaluations + 2));
    }

    /// <summary>Validation ASR after one clean epoch on <paramref name="heldOut"/> (the relapse recipe); weights restored after.</summary>
    public static double Durability(Clip model, ZeroShotHead head, UnlearnTask task, long[] heldOut) =>
        MethodEvaluation.AfterFineTune(model, head, heldOut.Length, HeldOutBatch(task, heldOut, model.Config.Preprocess), Defaults.Relapse,
            () => task.AttackSuccess(model, head).Value);

    /// <summary>Normalised images and true labels of positions into <paramref name="heldOut"/> (pool indices), for the checks' fine-tunes.</summary>
    static Func<long[], (Tensor Images, Tensor Labels)> HeldOutBatch(UnlearnTask task, long[] heldOut, PreprocessConfig preprocess) =>
        positions =>
        {
            var ids = positions.Select(p => heldOut[p]).ToArray();
            using var raw = task.CleanPool.Images(ids);
            return (Preprocess.Apply(raw, preprocess), task.CleanPool.LabelTensor(ids));
        };

    /// <summary>
    /// Validation ASR after the re-tuning attack of the experiments (<see cref="Defaults.Retune"/>: its recipe, the first
    /// <see cref="RetuneImages"/> forget images triggered and labelled with the target, mixed with up to its number of clean
    /// images, here from <paramref name="heldOut"/>); weights restored after. A clean model learns some triggers from so few
    /// images too (a warp more than a patch), so the rule compares candidates with each other, not with a fixed bar.
    /// </summary>
    public static double Retune(Clip model, ZeroShotHead head, UnlearnTask task, long[] heldOut)
    {
        int k = Math.Min(RetuneImages, task.Forget.Indices.Length), clean = Math.Min(heldOut.Length, Defaults.Retune.CleanImages);
        return MethodEvaluation.AfterRetune(model, head, task, k, clean, HeldOutBatch(task, heldOut, model.Config.Preprocess),
            () => task.AttackSuccess(model, head).Value);
    }

    /// <summary>Whether validation ASR is at most <see cref="AsrTarget"/>: the backdoor counts as removed.</summary>
    public static bool Removed(AlphaPoint validation) => validation.AttackSuccess.Value <= AsrTarget;

    /// <summary>The re-tune check where the rule reads it: only an output that removed the backdoor on validation.</summary>
    public static double? RetuneIfRemoved(Clip model, ZeroShotHead head, UnlearnTask task, long[] heldOut, AlphaPoint validation) =>
        Removed(validation) ? Retune(model, head, task, heldOut) : null;

    /// <summary>
    /// The candidates still in the running after each of the rule's steps: those that remove the backdoor; of them the durable
    /// ones (all, when none is); of them those whose re-tune ASR is unmeasured or within <see cref="RetuneMargin"/> of the
    /// lowest measured.
    /// </summary>
    static (List<AutoCandidate> Removers, List<AutoCandidate> Durable, List<AutoCandidate> Resistant) Running(IReadOnlyList<AutoCandidate> rows)
    {
        var removers = rows.Where(r => r.Removes).ToList();
        var durable = removers.Where(r => r.Durable).ToList();
        var pool = durable.Count > 0 ? durable : removers;
        var measured = pool.Where(r => r.RetuneAsr != null).Select(r => r.RetuneAsr!.Value).ToList();
        double ceiling = measured.Count > 0 ? measured.Min() + RetuneMargin : double.PositiveInfinity;
        return (removers, durable, pool.Where(r => r.RetuneAsr is not double a || a <= ceiling).ToList());
    }

    /// <summary>The rule applied to measured candidates (validation numbers only).</summary>
    public static AutoChoice Choose(IReadOnlyList<AutoCandidate> rows, IReadOnlyList<string> skipped)
    {
        if (rows.Count == 0) return new(null, "No candidate was run.", rows, skipped);
        var (removers, durables, resistant) = Running(rows);
        var best = removers.Count == 0 ? rows.MinBy(r => r.Validation.AttackSuccess.Value)!
            : resistant.MaxBy(r => r.Validation.CleanAccuracy.Value)!;
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
        double lowest = resistant.Where(r => r.RetuneAsr != null).Select(r => r.RetuneAsr!.Value).DefaultIfEmpty(double.NaN).Min();
        string retune = best.RetuneAsr is not double ra ? "its re-tune resistance was not measured"
            : $"after a short fine-tune that adds {RetuneImages} triggered images labelled with the target its validation ASR is {ra:P2}" +
                (ra > lowest ? $" (the lowest among the candidates in the running: {lowest:P2})"
                    : " (the lowest among the candidates in the running)");
        bool Above(AutoCandidate r) => r != best && r.Validation.CleanAccuracy.Value > best.Validation.CleanAccuracy.Value;
        var relapsing = removers.Where(r => Above(r) && !durables.Contains(r) && durables.Count > 0)
            .Select(r => $"{r.Method} (validation CA {r.Validation.CleanAccuracy.Value:P2}, but ASR {r.DurabilityAsr:P2} after the durability check)")
            .ToList();
        var retuned = removers.Where(r => Above(r) && !resistant.Contains(r) && (durables.Count == 0 || durables.Contains(r)))
            .Select(r => $"{r.Method} (validation CA {r.Validation.CleanAccuracy.Value:P2}, but ASR {r.RetuneAsr:P2} after the re-tune check)")
            .ToList();
        return new(best.Method, $"**{best.Method}**: validation ASR {best.Validation.AttackSuccess.Value:P2} at validation CA " +
            $"{best.Validation.CleanAccuracy.Value:P2}; {kind}; {durability}; {retune}." +
            (relapsing.Count > 0 ? $" Passed over for relapsing: {string.Join("; ", relapsing)}." : "") +
            (retuned.Count > 0 ? $" Passed over for re-learning the trigger from a few images: {string.Join("; ", retuned)}." : "") +
            (skipped.Count > 0 ? $" Not run: {string.Join("; ", skipped)}." : ""), rows, skipped);
    }
}
