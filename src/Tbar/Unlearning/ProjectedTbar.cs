using System.Diagnostics;
using Tbar.Arithmetic;
using Tbar.Models;
using Tbar.Training;

namespace Tbar.Unlearning;

/// <summary>
/// TBAR with the clean-task component projected out of τ_t, per parameter tensor: a clean vector τ_c is estimated by the
/// same fine-tune on as many clean images, and τ' = τ_t − (⟨τ_t, τ_c⟩ / ‖τ_c‖²)·τ_c. What the forget-set fine-tune shares
/// with ordinary fine-tuning (drift that is not about the trigger) is then not subtracted.
/// </summary>
public static class ProjectedTbar
{
    public static UnlearnResult Run(Clip model, ZeroShotHead head, UnlearnTask task, TbarOptions o)
    {
        task.Validate();
        var clock = Stopwatch.StartNew();
        using var tau = FineTuneVectors.TriggerVector(model, head, task, o.Recipe, null);
        using var clean = CleanVector(model, head, task, o.Recipe);
        var projected = Project(tau, clean);
        var choice = Negation.Choose(model, head, task, projected, o.Rule);
        Negation.Apply(model, projected, choice.Alpha);
        return new UnlearnResult("tbar-proj", choice, choice.Reason, choice.Point, projected, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Per-tensor projection of <paramref name="tau"/> off <paramref name="clean"/>.</summary>
    public static TaskVector Project(TaskVector tau, TaskVector clean)
    {
        var result = new Dictionary<string, TorchSharp.torch.Tensor>();
        foreach (var key in tau.Keys)
        {
            var (t, c) = (tau[key], clean[key]);
            // Sums in float32 as first committed: the projected τ feeds the α choice.
            double cc = VectorMaths.DotAsStored(c, c);
            result[key] = cc > 0 ? VectorMaths.RemoveAlong(t, c, VectorMaths.DotAsStored(t, c) / cc) : t.clone();
        }
        return new TaskVector(result, tau.Metadata.Append(new("projected_off", "clean fine-tune vector")).ToDictionary());
    }

    static TaskVector CleanVector(Clip model, ZeroShotHead head, UnlearnTask task, TrainOptions recipe) =>
        FineTuneVectors.FineTuneVector(model, head, task.CleanBudget.Length, positions => task.CleanBatch(positions, model.Config.Preprocess), recipe, null);
}
