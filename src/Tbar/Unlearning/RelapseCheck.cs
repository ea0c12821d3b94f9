using Tbar.Models;
using Tbar.Training;

namespace Tbar.Unlearning;

/// <summary>The relapse check's fine-tune: one clean epoch of the task's clean budget, batch 64, LR 1e-4, on the image tower.</summary>
public static class RelapseCheck
{
    public static readonly TrainOptions Recipe = new(1, 64, 1e-4, 0.1);

    /// <summary>The fine-tune, in place (nothing restored).</summary>
    public static void FineTune(Clip model, ZeroShotHead head, UnlearnTask task) =>
        Training.FineTune.Train(model, head, task.CleanBudget.Length, p => task.CleanBatch(p, model.Config.Preprocess), Recipe);
}
