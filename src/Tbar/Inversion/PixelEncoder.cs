using Tbar.Models;
using static TorchSharp.torch;

namespace Tbar.Inversion;

/// <summary>
/// What an inversion sees of a model: (B, 3, H, W) pixels in [0,1] → (B, D) embeddings, and the module whose weights are
/// held still while a trigger is optimised against it. The scan passes a CLIP's image tower; tests pass toy towers.
/// </summary>
public sealed record PixelEncoder(Func<Tensor, Tensor> Encode, nn.Module Weights)
{
    /// <summary>A CLIP's image tower behind its own preprocessing.</summary>
    public static PixelEncoder Of(Clip model) => new(x => model.EncodeImage(Preprocess.Apply(x, model.Config.Preprocess)), model);

    /// <summary>Turns off gradients of the weights (and evaluation mode) until the returned handle is disposed.</summary>
    public IDisposable Freeze()
    {
        Weights.eval();
        var frozen = Weights.parameters().Where(p => p.requires_grad).ToList();
        foreach (var p in frozen) p.requires_grad = false;
        return new Thaw(frozen);
    }

    /// <summary>Mean pairwise cosine similarity of the embeddings of <paramref name="indices"/>, triggered when a trigger is given.</summary>
    public double Similarity(Data.ImageDataset data, long[] indices, Attacks.ITrigger? trigger, int batchSize = 256)
    {
        using var guard = no_grad();
        Weights.eval();
        using var scope = NewDisposeScope();
        var parts = new List<Tensor>();
        for (int start = 0; start < indices.Length; start += batchSize)
        {
            var batch = indices.AsSpan(start, Math.Min(batchSize, indices.Length - start)).ToArray();
            var images = data.Images(batch);
            if (trigger != null) images = trigger.Apply(images, batch);
            parts.Add(Encode(images));
        }
        return Decree.MeanPairwiseCosine(cat(parts, 0)).item<float>();
    }

    sealed class Thaw(List<TorchSharp.Modules.Parameter> frozen) : IDisposable
    {
        public void Dispose()
        {
            foreach (var p in frozen) p.requires_grad = true;
        }
    }
}
