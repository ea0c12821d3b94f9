using Tbar.Models;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Tbar.Training;

/// <summary>
/// Supervised fine-tuning of the image tower against a frozen zero-shot head: cross-entropy on exp(logit_scale) × cosine.
/// The task-arithmetic setting; the text tower and head do not change.
/// </summary>
public static class FineTune
{
    /// <summary>Cross-entropy of the head's logits for <paramref name="images"/> (normalised) against <paramref name="labels"/>.</summary>
    public static Tensor Loss(Clip model, ZeroShotHead head, Tensor images, Tensor labels)
    {
        using var logits = head.Logits(model.EncodeImage(images));
        return F.cross_entropy(logits, labels);
    }

    /// <summary>Trains the image tower; <paramref name="batch"/> gives normalised images and int64 labels for a set of indices.</summary>
    public static TrainResult Train(Clip model, ZeroShotHead head, int count, Func<long[], (Tensor Images, Tensor Labels)> batch,
        TrainOptions options, IProgress<TrainProgress>? progress = null)
    {
        model.train();
        var parameters = model.Visual.parameters().ToList();
        var result = TrainLoop.Run(parameters, count, options, indices =>
        {
            var (images, labels) = batch(indices);
            return Loss(model, head, images, labels);
        }, progress);
        model.eval();
        return result;
    }
}
