using Tbar.Models;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Tbar.Training;

/// <summary>CLIP's contrastive training: symmetric InfoNCE over a batch of image–caption pairs, both towers trained.</summary>
public static class Contrastive
{
    // CLIP clamps the temperature at 100 so the logits cannot blow up.
    const double MaxLogitScale = 100;

    /// <summary>Mean of the image→text and text→image cross-entropies; pair i is the positive of row i.</summary>
    public static Tensor Loss(Clip model, Tensor images, Tensor tokens)
    {
        using var scope = NewDisposeScope();
        return EmbeddingLoss(model, model.EncodeImage(images), tokens).MoveToOuterDisposeScope();
    }

    /// <summary>As <see cref="Loss"/>, from image embeddings already computed (B, embed), e.g. by a locked image tower.</summary>
    public static Tensor EmbeddingLoss(Clip model, Tensor imageEmbeddings, Tensor tokens)
    {
        using var scope = NewDisposeScope();
        var img = F.normalize(imageEmbeddings, dim: -1);
        var txt = F.normalize(model.EncodeText(tokens), dim: -1);
        var logits = model.LogitScale.clamp_max(MaxLogitScale) * img.matmul(txt.t());
        var targets = arange(img.shape[0], dtype: ScalarType.Int64);
        var loss = (F.cross_entropy(logits, targets) + F.cross_entropy(logits.t(), targets)) / 2;
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Trains all of <paramref name="model"/> on <paramref name="count"/> pairs; <paramref name="batch"/> gives normalised images
    /// (B, 3, S, S) and token ids (B, L) for a set of indices.
    /// </summary>
    public static TrainResult Train(Clip model, int count, Func<long[], (Tensor Images, Tensor Tokens)> batch, TrainOptions options,
        IProgress<TrainProgress>? progress = null)
    {
        model.train();
        var parameters = model.parameters().ToList();
        var result = TrainLoop.Run(parameters, count, options, indices =>
        {
            var (images, tokens) = batch(indices);
            return Loss(model, images, tokens);
        }, progress);
        model.eval();
        return result;
    }
}
