using Tbar.Arithmetic;
using Tbar.Attacks;
using Tbar.Data;
using Tbar.Evaluation;
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
        double tauSquared = Dot(tau, tau);
        if (!(tauSquared > 0)) throw new TbarException("the trigger vector is zero");
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
            using var delta = new TaskVector(VisualWeights.RestoreTakingChange(model, start));
            negation.Restore();
            double c = Dot(delta, tau) / tauSquared, deltaNorm = delta.Norm();
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
            double cosine = Dot(delta, tau) / (deltaNorm * Math.Sqrt(tauSquared));
            points.Add(new RelapsePoint(alpha, negated, relapsed, c, alpha > 0 ? c / alpha : null, cosine, deltaNorm, along, orthogonal,
                Blocks(delta, tau)));
        }
        return new RelapseAnatomyResult(Math.Sqrt(tauSquared), points);
    }

    /// <summary>
    /// <see cref="Run(Clip, ZeroShotHead, TaskVector, UnlearnTask, ImageDataset, ITrigger, int, IReadOnlyList{double}, Action{string})"/>
    /// on a `tbar unlearn --forget trigger:SPEC` output: its backdoored model and τ, α = <paramref name="multiples"/> × its α*, and
    /// the clean budget it drew (same data spec, sizes and seed, so the relapse fine-tune sees the images the method saw).
    /// </summary>
    public static RelapseAnatomyResult Run(string unlearnedDir, IReadOnlyList<double> multiples, Action<string>? status = null)
    {
        var run = UnlearnedRun.Read(unlearnedDir);
        if (!(run.Alpha > 0)) throw new TbarException($"{unlearnedDir}: its method chose α = {run.Alpha}, so there is no negation to relapse from");
        var record = UnlearnRecord.Load(unlearnedDir);
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

    /// <summary>⟨a, b⟩ over the keys of <paramref name="b"/>, in float64.</summary>
    static double Dot(TaskVector a, TaskVector b) => b.Keys.Sum(k => KeyDot(a[k], b[k]));

    static double KeyDot(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return (a.to(ScalarType.Float64) * b.to(ScalarType.Float64)).sum().item<double>();
    }

    static List<RelapseBlock> Blocks(TaskVector delta, TaskVector tau)
    {
        var sums = tau.Keys.GroupBy(VectorStats.Block).Select(g => (Block: g.Key,
            D: g.Sum(k => KeyDot(delta[k], delta[k])), T: g.Sum(k => KeyDot(tau[k], tau[k])), Dt: g.Sum(k => KeyDot(delta[k], tau[k])))).ToList();
        double d = sums.Sum(s => s.D), t = sums.Sum(s => s.T);
        return [.. sums.Select(s => new RelapseBlock(s.Block, d > 0 ? s.D / d : 0, t > 0 ? s.T / t : 0,
            s.D > 0 && s.T > 0 ? s.Dt / Math.Sqrt(s.D * s.T) : 0))];
    }
}
