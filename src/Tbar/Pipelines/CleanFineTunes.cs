using Tbar.Data;
using Tbar.Io;
using Tbar.Models;

namespace Tbar.Pipelines;

/// <summary>One clean fine-tune's recipe: its seed, how many training images it drew, its peak learning rate and epochs.</summary>
public sealed record CleanRecipe(long Seed, int Images, double LearningRate, int Epochs);

/// <summary>
/// Clean fine-tunes of one model for calibrating a detector: different seeds, data subsets and recipes, so the clean
/// models vary as much as the defender's own clean models might. Each goes to its own folder with recipe.json.
/// </summary>
public static class CleanFineTunes
{
    /// <summary>The recipe grid, cycled: subset sizes, peak learning rates and epochs (around the attack's own 5e-4 recipe).</summary>
    static readonly int[] Subsets = [3000, 6000];
    static readonly double[] Rates = [2.5e-4, 5e-4, 1e-3];
    static readonly int[] Epochs = [1, 2];

    /// <summary>Recipe <paramref name="k"/> of a run whose first seed is <paramref name="firstSeed"/>.</summary>
    public static CleanRecipe Recipe(int k, long firstSeed) =>
        new(firstSeed + k, Subsets[k % Subsets.Length], Rates[k % Rates.Length], Epochs[k / Subsets.Length % Epochs.Length]);

    /// <summary>The folder of the fine-tune made by <paramref name="r"/>.</summary>
    public static string Folder(string outDir, CleanRecipe r) => Path.Combine(outDir, $"clean-seed-{r.Seed}");

    /// <summary>
    /// Makes <paramref name="count"/> fine-tunes of <paramref name="modelPath"/> under <paramref name="outDir"/>; folders that
    /// already hold a model are kept (the run resumes). Returns every folder.
    /// </summary>
    public static List<string> Make(string modelPath, DataSplits data, int count, long firstSeed, string outDir, Action<string> status,
        IProgress<TrainProgress>? progress)
    {
        if (count < 1) throw new TbarException($"--count must be ≥ 1 (got {count})");
        var folders = new List<string>();
        for (int k = 0; k < count; k++)
        {
            var recipe = Recipe(k, firstSeed);
            string folder = Folder(outDir, recipe);
            folders.Add(folder);
            if (SavedBackdoor.HoldsModel(folder)) continue;
            status($"clean fine-tune {k + 1}/{count}: seed {recipe.Seed}, {recipe.Images} images, lr {recipe.LearningRate}, " +
                $"{recipe.Epochs} epoch(s)");
            using var model = ClipCheckpoint.Load(modelPath);
            var subset = Splits.Take(data.TrainIndices, recipe.Seed, Math.Min(recipe.Images, data.TrainIndices.Length))[0];
            var train = BackdoorAttack.DefaultTrain(AttackMode.Supervised) with
            {
                Epochs = recipe.Epochs, LearningRate = recipe.LearningRate, Seed = recipe.Seed,
            };
            var result = BackdoorAttack.TrainClean(model, Tokenizers.For(model, null), data.Train, subset,
                new AttackOptions("none", data.Train.ClassNames[0], 0.03, AttackMode.Supervised, train, recipe.Seed), progress);
            AtomicFolder.Write(folder, SavedBackdoor.WeightsFile(model), stage =>
            {
                ClipCheckpoint.WriteInto(model, stage);
                AtomicFile.WriteText(Path.Combine(stage, "recipe.json"),
                    System.Text.Json.JsonSerializer.Serialize(new { recipe, training = result, from = modelPath }, RunRecord.Json) + "\n");
            }, modelPath);
        }
        return folders;
    }
}
