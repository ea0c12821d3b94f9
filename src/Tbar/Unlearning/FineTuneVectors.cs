using Tbar.Arithmetic;
using Tbar.Io;
using Tbar.Models;
using Tbar.Training;

namespace Tbar.Unlearning;

/// <summary>Weight changes of fine-tunes of the image tower, taken as task vectors with the model restored afterwards.</summary>
public static class FineTuneVectors
{
    /// <summary>τ_t = θ_b+t − θ_b over the image tower; the model is back at θ_b afterwards (bit for bit).</summary>
    public static TaskVector TriggerVector(Clip model, ZeroShotHead head, UnlearnTask task, TrainOptions recipe,
        IProgress<TrainProgress>? progress) =>
        FineTuneVector(model, head, task.Forget.Indices.Length, positions => task.ForgetBatch(positions, model.Config.Preprocess), recipe,
            VectorMetadata(model, task, recipe), progress);

    /// <summary>What a trigger vector records about its making; called at θ_b, so base_visual_sha256 names the base.</summary>
    public static Dictionary<string, string> VectorMetadata(Clip model, UnlearnTask task, TrainOptions recipe) => new()
    {
        ["base_visual_sha256"] = VisualWeights.Hash(model), ["layout"] = model.Origin?.Layout.ToString() ?? "in-memory",
        ["forget_size"] = task.Forget.Indices.Length.ToString(), ["lr"] = recipe.LearningRate.ToString("R"),
        ["epochs"] = recipe.Epochs.ToString(), ["seed"] = recipe.Seed.ToString(), ["trigger"] = task.Forget.Trigger?.Spec ?? "images",
    };

    /// <summary>The image-tower weight change of one fine-tune run; the model's weights are restored afterwards.</summary>
    public static TaskVector FineTuneVector(Clip model, ZeroShotHead head, int count, Func<long[], (TorchSharp.torch.Tensor,
        TorchSharp.torch.Tensor)> batch,
        TrainOptions recipe, IReadOnlyDictionary<string, string>? metadata, IProgress<TrainProgress>? progress = null)
        => FineTuneVector(model, () => FineTune.Train(model, head, count, batch, recipe, progress), metadata);

    /// <summary>
    /// The image-tower weight change made by <paramref name="train"/>; the model's weights are restored afterwards. θ_b waits
    /// in a temporary file while <paramref name="train"/> runs: the fine-tune's peak holds no copy of the tower.
    /// </summary>
    public static TaskVector FineTuneVector(Clip model, Action train, IReadOnlyDictionary<string, string>? metadata)
    {
        using var before = SpilledTensors.Write(VisualWeights.Live(model));
        train();
        return new TaskVector(VisualWeights.RestoreTakingChange(model, before), metadata);
    }
}
