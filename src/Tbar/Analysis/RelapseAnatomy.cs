using Tbar.Arithmetic;
using Tbar.Attacks;
using Tbar.Data;
using Tbar.Evaluation;
using Tbar.Io;
using Tbar.Models;
using Tbar.Unlearning;
using static TorchSharp.torch;

namespace Tbar.Analysis;

/// <summary>One block of the relapse's weight change Δ: its share of ‖Δ‖², τ's share of ‖τ‖², and cos(Δ, τ) inside it.</summary>
public sealed record RelapseBlock(string Block, double DeltaEnergyShare, double TauEnergyShare, double Cosine);

/// <summary>
/// One negation depth: test CA and ASR at θ_b − α·τ, after the relapse fine-tune from there (Δ = its weight change), and with
/// Δ split in two: its component along τ alone (c·τ, c = ⟨Δ, τ⟩ / ‖τ‖²) and the rest alone. <see cref="Undone"/> = c / α is the
/// share of the negation the clean fine-tune takes back along τ. α = 0 is the control: the same fine-tune from θ_b.
/// </summary>
public sealed record RelapsePoint(double Alpha, AttackMetrics Negated, AttackMetrics Relapsed, double Coefficient, double? Undone,
    double Cosine, double DeltaNorm, double AsrAlongTau, double AsrOrthogonal, IReadOnlyList<RelapseBlock> Blocks);

/// <summary>Everything `tbar analyze relapse` measured; ‖τ‖ over the image tower.</summary>
public sealed record RelapseAnatomyResult(double TauNorm, IReadOnlyList<RelapsePoint> Points);

/// <summary>
/// Where does a relapse come from? A negated model whose backdoor returns after a short clean fine-tune either slides back
/// along τ (the negation is undone: clean data pulls the weights to θ_b) or re-grows the trigger's path through other
/// directions (τ's negation stays, the backdoor comes back around it). The two are told apart by applying each part of the
/// fine-tune's weight change alone and measuring test ASR.
/// </summary>
public static class RelapseAnatomy
{
    /// <summary>
    /// For each α (0 first, as the control): θ_b − α·τ, the relapse fine-tune of <see cref="RelapseCheck"/> on
    /// the task's clean budget, and the split of its weight change. The model is back at θ_b, bit for bit, afterwards.
    /// </summary>
    public static RelapseAnatomyResult Run(Clip model, ZeroShotHead head, TaskVector tau, UnlearnTask task, ImageDataset testSet, ITrigger trigger,
        int target, IReadOnlyList<double> alphas, Action<string>? status = null)
    {
        if (alphas.Count == 0 || alphas.Any(a => !(a >= 0) || double.IsInfinity(a))) throw new TbarException("α values must be finite and ≥ 0");
        var test = testSet.AllIndices();
        double tauNorm = tau.Norm();
        if (!(tauNorm > 0)) throw new TbarException("the trigger vector is zero");
        var points = new List<RelapsePoint>();
        using var negation = new WeightEdit(model, tau);
        foreach (double alpha in alphas.Prepend(0).Distinct())
        {
            status?.Invoke($"α = {alpha:G4}: negate, evaluate, relapse fine-tune");
            negation.Set(-alpha);
            var negated = Metrics.Evaluate(model, head, testSet, test, trigger, target);
            var start = VisualWeights.Snapshot(model);
            RelapseCheck.FineTune(model, head, task);
            var relapsed = Metrics.Evaluate(model, head, testSet, test, trigger, target);
            using var delta = Change(VisualWeights.RestoreTakingChange(model, start), tau);
            negation.Restore();
            // Δ against τ: norms, cosine and per-block shares in float64 (VectorStats); c = ⟨Δ, τ⟩/‖τ‖² = cos·‖Δ‖/‖τ‖.
            var stats = VectorStats.Compute(delta, tau);
            double c = stats.Cosine * stats.TriggerNorm / stats.CleanNorm;
            status?.Invoke($"α = {alpha:G4}: Δ along τ and Δ without it");
            double along, orthogonal;
            using (var parts = new WeightEdit(model, tau, delta))
            {
                parts.Set(-alpha + c, 0);
                along = Metrics.AttackSuccess(model, head, testSet, test, trigger, target).Value;
                parts.Set(-alpha - c, 1);
                orthogonal = Metrics.AttackSuccess(model, head, testSet, test, trigger, target).Value;
                parts.Restore();
            }
            double tauEnergy = stats.Blocks.Sum(b => b.CleanNorm * b.CleanNorm);
            points.Add(new RelapsePoint(alpha, negated, relapsed, c, alpha > 0 ? c / alpha : null, stats.Cosine, stats.TriggerNorm, along,
                orthogonal, [.. stats.Blocks.Select(b => new RelapseBlock(b.Block, b.TriggerEnergyShare, b.CleanNorm * b.CleanNorm / tauEnergy,
                    b.Cosine))]));
        }
        return new RelapseAnatomyResult(tauNorm, points);
    }

    /// <summary>
    /// <see cref="Run(Clip, ZeroShotHead, TaskVector, UnlearnTask, ImageDataset, ITrigger, int, IReadOnlyList{double}, Action{string})"/>
    /// on a `tbar unlearn --forget trigger:SPEC` output: its backdoored model and τ, α = <paramref name="multiples"/> × its α*, and
    /// the clean budget it drew (same data spec, sizes and seed, so the relapse fine-tune sees the images the method saw). The
    /// caller reads the folder once and passes what it read.
    /// </summary>
    /// <param name="unlearnedDir">The output folder, named in errors.</param>
    /// <param name="run">What <see cref="UnlearnedRun.Read"/> took from it.</param>
    /// <param name="record">Its report.json (<see cref="UnlearnRecord.Load"/>): data spec, sizes and seed.</param>
    /// <param name="multiples">Negation depths as multiples of α*.</param>
    /// <param name="status">Progress lines.</param>
    public static RelapseAnatomyResult Run(string unlearnedDir, UnlearnedRun run, StoredRun<UnlearnSettings, UnlearnSummary> record,
        IReadOnlyList<double> multiples, Action<string>? status = null)
    {
        if (!(run.Alpha > 0)) throw new TbarException($"{unlearnedDir}: its method chose α = {run.Alpha}, so there is no negation to relapse from");
        using var model = ClipCheckpoint.Load(run.Backdoored);
        using var data = DataSpec.Load(record.Options.Val, model.Config.Vision.ImageSize);
        using var head = ZeroShotHead.ForClasses(model, Tokenizers.For(model, null), data.Train.ClassNames);
        using var tau = TaskVector.Load(run.TauPath);
        var trigger = Triggers.Parse(run.TriggerSpec);
        int target = data.Train.ClassIndex(run.Target);
        var task = UnlearnTask.FromPool(data.Train, data.TrainIndices, trigger, target, record.Options.ForgetSize, record.Options.ValSize,
            record.Seed);
        return Run(model, head, tau, task, data.Test, trigger, target, [.. multiples.Select(m => m * run.Alpha)], status);
    }

    /// <summary>The fine-tune's change on τ's parameters (the rest, if τ leaves any out, is dropped), as a vector.</summary>
    static TaskVector Change(Dictionary<string, Tensor> change, TaskVector tau)
    {
        foreach (var key in change.Keys.Where(k => !tau.Keys.Contains(k)).ToList())
        {
            change[key].Dispose();
            change.Remove(key);
        }
        return new TaskVector(change);
    }
}
