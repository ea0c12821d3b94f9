using Tbar.Models;
using Tbar.Training;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Tbar.Unlearning;

/// <summary>Settings of the CleanCLIP-style baseline.</summary>
/// <param name="Baseline">LRs swept (chosen on validation), epochs, and the shared ASR target / CA floor.</param>
/// <param name="SelfSupervisedWeight">λ of the in-modal term.</param>
/// <param name="MaxShift">Largest random translation of an augmented view, in pixels.</param>
public sealed record CleanClipOptions(BaselineOptions Baseline, double SelfSupervisedWeight = 1.0, int MaxShift = 3)
{
    public static CleanClipOptions Default => new(BaselineOptions.Default);
}

/// <summary>
/// A CleanCLIP-style defence on TBAR's clean budget: fine-tune on clean images with (1) the multimodal contrastive term,
/// each image against the captions of every class (the zero-shot head's prompt-averaged text embeddings, text tower
/// frozen so the evaluation head stays valid), plus (2) CleanCLIP's in-modal self-supervised term: two augmented views
/// of each image (random shift, flip, brightness) must pick each other out of the batch (symmetric InfoNCE). The image
/// tower is trained; one run per LR, the choice made on validation like the other baselines. CleanCLIP also trains the
/// text tower with a text–text term; here the text tower stays fixed.
/// </summary>
public static class CleanClipStyle
{
    public static UnlearnResult Run(Clip model, ZeroShotHead head, UnlearnTask task, CleanClipOptions o) =>
        Baselines.LearningRateSweep("cleanclip", model, head, task, o.Baseline, lr =>
        {
            var rng = new Random(Defaults.CleanClipAugmentSeed);
            TrainLoop.Run(model.Visual.parameters().ToList(), task.CleanBudget.Length, Defaults.BaselineTraining(o.Baseline.Epochs, lr), positions =>
            {
                model.train();
                var (images, labels) = task.CleanBatch(positions, model.Config.Preprocess);
                return Loss(model, head, images, labels, o, rng);
            });
        });

    /// <summary>Multimodal term on one view + λ × in-modal InfoNCE between two views.</summary>
    public static Tensor Loss(Clip model, ZeroShotHead head, Tensor images, Tensor labels, CleanClipOptions o, Random rng)
    {
        using var scope = NewDisposeScope();
        var first = F.normalize(model.EncodeImage(Augment(images, o.MaxShift, rng)), dim: -1);
        var second = F.normalize(model.EncodeImage(Augment(images, o.MaxShift, rng)), dim: -1);
        var scale = head.Scale;
        var multimodal = F.cross_entropy(scale * first.matmul(head.Weights.t()), labels);
        var logits = scale * first.matmul(second.t());
        var targets = arange(images.shape[0], dtype: ScalarType.Int64);
        var inModal = (F.cross_entropy(logits, targets) + F.cross_entropy(logits.t(), targets)) / 2;
        return (multimodal + o.SelfSupervisedWeight * inModal).MoveToOuterDisposeScope();
    }

    /// <summary>Per image: a random shift of up to <paramref name="maxShift"/> pixels (edge padding), a coin-flip mirror, ±10% brightness.</summary>
    public static Tensor Augment(Tensor images, int maxShift, Random rng)
    {
        using var scope = NewDisposeScope();
        long b = images.shape[0], h = images.shape[2], w = images.shape[3];
        var (dy, dx, flip, gain) = Draw(b, maxShift, rng);
        var padded = F.pad(images, [maxShift, maxShift, maxShift, maxShift], TorchSharp.PaddingModes.Replicate);
        // Advanced indices broadcast to (B, 3, H, W): row dy_b + i, column dx_b + j (or dx_b + W − 1 − j when mirrored).
        var j = arange(w).view(1, 1, 1, -1);
        var flipped = tensor(flip).view(-1, 1, 1, 1);
        var cols = tensor(dx).view(-1, 1, 1, 1) + where(flipped, (w - 1) - j, j);
        var rows = tensor(dy).view(-1, 1, 1, 1) + arange(h).view(1, 1, -1, 1);
        var views = padded.index(TensorIndex.Tensor(arange(b).view(-1, 1, 1, 1)), TensorIndex.Tensor(arange(3).view(1, -1, 1, 1)),
            TensorIndex.Tensor(rows), TensorIndex.Tensor(cols));
        return (views * tensor(gain).view(-1, 1, 1, 1)).MoveToOuterDisposeScope();
    }

    // The random draws in the order the per-image loop made them: shift y, shift x, mirror coin, brightness.
    static (long[] Dy, long[] Dx, bool[] Flip, float[] Gain) Draw(long b, int maxShift, Random rng)
    {
        var (dy, dx, flip, gain) = (new long[b], new long[b], new bool[b], new float[b]);
        for (int i = 0; i < b; i++)
        {
            dy[i] = rng.Next(2 * maxShift + 1);
            dx[i] = rng.Next(2 * maxShift + 1);
            flip[i] = rng.Next(2) == 1;
            gain[i] = (float)(0.9 + 0.2 * rng.NextDouble());
        }
        return (dy, dx, flip, gain);
    }
}
