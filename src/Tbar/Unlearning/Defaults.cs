using Tbar.Training;

namespace Tbar.Unlearning;

/// <summary>The re-tuning attack's fine-tune: its recipe and how many clean images join the poisoned ones.</summary>
/// <param name="Recipe">5 epochs at batch 32, LR 1e-4, weight decay 0.1: a fixed recipe, the same for every model.</param>
/// <param name="CleanImages">Clean-budget images mixed with the k poisoned ones, e.g. 500.</param>
public sealed record RetuneRecipe(TrainOptions Recipe, int CleanImages);

/// <summary>
/// What Tbar uses when the user gives nothing else, written once: commands, pipelines and experiments read these. Constants
/// where a record's parameter default needs a compile-time value.
/// </summary>
public static class Defaults
{
    /// <summary>The data spec: Fashion-MNIST from the shipped cache.</summary>
    public const string Data = "fashion-mnist";

    /// <summary>Forget-set size (also the clean budget of the baselines).</summary>
    public const int ForgetSize = 2000;

    /// <summary>Validation size (clean images; the triggered ones are its non-target part).</summary>
    public const int ValSize = 2000;

    /// <summary>Poisoned share of the attacker's training set.</summary>
    public const double PoisonRate = 0.03;

    /// <summary>The relapse check: one clean epoch of the clean budget, batch 64, LR 1e-4, weight decay 0.1.</summary>
    public static readonly TrainOptions Relapse = new(Epochs: 1, BatchSize: 64, LearningRate: 1e-4, WeightDecay: 0.1);

    /// <summary>The re-tuning attack (<see cref="RetuneRecipe"/>).</summary>
    public static readonly RetuneRecipe Retune = new(new TrainOptions(Epochs: 5, BatchSize: 32, LearningRate: 1e-4, WeightDecay: 0.1),
        CleanImages: 500);

    /// <summary>
    /// The fine-tuning baselines' runs (FT, FT-relabel, CleanCLIP-style) at one swept LR: batch 64, weight decay 0.1, 10%
    /// warm-up, clip 1.0. TBAR's own forget fine-tune uses weight decay 0 (its recipe in <see cref="TbarOptions"/>).
    /// </summary>
    public static TrainOptions BaselineTraining(int epochs, double learningRate) =>
        new(epochs, BatchSize: 64, LearningRate: learningRate, WeightDecay: 0.1, WarmupFraction: 0.1, ClipNorm: 1.0);

    /// <summary>Gradient ascent's shuffling of the forget set.</summary>
    public const int AscentSeed = 0;

    /// <summary>The CleanCLIP-style baseline's augmentation draws.</summary>
    public const int CleanClipAugmentSeed = 17;
}
