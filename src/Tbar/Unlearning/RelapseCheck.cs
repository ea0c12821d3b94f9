using Tbar.Models;

namespace Tbar.Unlearning;

/// <summary>The relapse check's fine-tune of the image tower on the task's clean budget (<see cref="Defaults.Relapse"/>).</summary>
public static class RelapseCheck
{
    /// <summary>The fine-tune, in place (nothing restored).</summary>
    public static void FineTune(Clip model, ZeroShotHead head, UnlearnTask task) =>
        Training.FineTune.Train(model, head, task.CleanBudget.Length, p => task.CleanBatch(p, model.Config.Preprocess), Defaults.Relapse);
}
