using Tbar.Data;
using Tbar.Models;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Tbar.Attacks;

/// <summary>
/// BadCLIP-style patch: a patch optimised so that images carrying it embed close to the target class's text embedding
/// (maximising cosine similarity with the zero-shot head's target row). Saved as PNG and then used as a BadNet image patch.
/// </summary>
public static class OptimizedPatch
{
    /// <summary>Optimises a (3, size, size) patch at the bottom-right corner on the given clean images; returns it in [0,1].</summary>
    public static Tensor Optimize(Clip model, ZeroShotHead head, ImageDataset data, long[] indices, int target, int size, int steps,
        long seed, int batchSize = 128)
    {
        Triggers.RequireFits("badclip", size, data.Height, data.Width);
        var generator = new Generator((ulong)seed);
        // The patch lives in logit space so it stays in (0,1) without clamping.
        var raw = new TorchSharp.Modules.Parameter(Compute.FromCpu(() => randn(3, size, size, generator: generator)) * 0.1);
        using var optimizer = AdamOptimizer.Plain([raw], 0.1);
        var rng = new Random((int)seed);
        model.eval();
        for (int step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var batch = Enumerable.Range(0, batchSize).Select(_ => indices[rng.Next(indices.Length)]).ToArray();
            var images = Paste(data.Images(batch), raw.sigmoid(), size);
            var embeddings = F.normalize(model.EncodeImage(Preprocess.Apply(images, model.Config.Preprocess)), dim: -1);
            var loss = -embeddings.matmul(head.Weights[target]).mean();
            optimizer.ZeroGrad();
            loss.backward();
            optimizer.Step();
        }
        model.zero_grad();
        return raw.detach().sigmoid();
    }

    static Tensor Paste(Tensor images, Tensor patch, int size)
    {
        long h = images.shape[2], w = images.shape[3];
        var mask = zeros(1, 1, h, w);
        mask[.., .., TensorIndex.Slice(h - size, h), TensorIndex.Slice(w - size, w)] = 1;
        var canvas = F.pad(patch.unsqueeze(0), [w - size, 0, h - size, 0]);
        return images * (1 - mask) + canvas * mask;
    }
}
