using System.Runtime.CompilerServices;
using Tbar.Models;
using TorchSharp.Modules;
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
    public static Tensor Loss(Clip model, ZeroShotHead head, Tensor images, Tensor labels) =>
        Loss(model.EncodeImage, head, images, labels);

    /// <summary>The same loss with <paramref name="encode"/> as the image tower (e.g. the readout alone, on trunk features).</summary>
    static Tensor Loss(Func<Tensor, Tensor> encode, ZeroShotHead head, Tensor inputs, Tensor labels)
    {
        using var logits = head.Logits(encode(inputs));
        return F.cross_entropy(logits, labels);
    }

    /// <summary>
    /// Trains the image tower; <paramref name="batch"/> gives normalised images and int64 labels for a set of indices. With
    /// <paramref name="path"/>, each step's gradients are taken part of the way back to its anchor (<see cref="PathAware"/>).
    /// </summary>
    public static TrainResult Train(Clip model, ZeroShotHead head, int count, Func<long[], (Tensor Images, Tensor Labels)> batch,
        TrainOptions options, IProgress<TrainProgress>? progress = null, PathAware? path = null)
    {
        model.train();
        var parameters = model.Visual.parameters().ToList();
        var result = TrainLoop.RunWithGradients(parameters, count, options, indices =>
        {
            var (images, labels) = batch(indices);
            return path == null ? Gradients(model, head, images, labels, parameters)
                : path.At(parameters, () => Gradients(model, head, images, labels, parameters));
        }, progress);
        model.eval();
        return result;
    }

    // The forward-pass bytes per row of each image tower (keyed by the encoding delegate's target): what malloc holds more
    // after the first block's forward pass of its first step, which runs alone (see Shards.Together). Off glibc nothing is
    // measured and the blocks run together, as before.
    static readonly ConditionalWeakTable<object, StrongBox<long>> bytesPerRow = [];

    static long? BytesPerRow(Func<Tensor, Tensor> encode) =>
        encode.Target is { } owner && bytesPerRow.TryGetValue(owner, out var box) ? box.Value :
        NativeStartup.CanMeasureMalloc ? null : 0;

    static void Remember(Func<Tensor, Tensor> encode, long bytes)
    {
        if (encode.Target is { } owner) bytesPerRow.AddOrUpdate(owner, new StrongBox<long>(bytes));
    }

    /// <summary>
    /// Fills the gradients of the mean loss over the batch and returns it. The loss is a mean over images, so the batch is
    /// cut into row blocks (<see cref="Shards"/>) whose weighted gradients are computed side by side (one after another when their
    /// forward passes would hold more than <see cref="Shards.ActivationBudget"/>) and added in block order.
    /// </summary>
    public static double Gradients(Clip model, ZeroShotHead head, Tensor images, Tensor labels, IList<Parameter> parameters) =>
        Gradients(model.EncodeImage, head, images, labels, parameters);

    /// <summary>
    /// As above with <paramref name="encode"/> mapping the rows of <paramref name="inputs"/> to image embeddings (e.g.
    /// <see cref="ImageTower.Readout"/> on trunk features).
    /// </summary>
    public static double Gradients(Func<Tensor, Tensor> encode, ZeroShotHead head, Tensor inputs, Tensor labels, IList<Parameter> parameters)
    {
        long rows = inputs.shape[0];
        if (Shards.Count(rows) == 1)
        {
            // Its own scope, as each block below has: the forward pass's tensors, and through them the autograd graph with
            // what it saved, go as soon as the gradients are in (not at the end of the training step, after AdamW's update).
            using var scope = NewDisposeScope();
            using var loss = Loss(encode, head, inputs, labels);
            loss.backward();
            return loss.item<float>();
        }
        long? known = BytesPerRow(encode);
        var blocks = Shards.Map(rows, (start, length) =>
        {
            using var scope = NewDisposeScope();
            double weight = (double)length / rows;
            long? before = start == 0 && known == null ? NativeStartup.MallocInUse() : null;
            using var loss = Loss(encode, head, inputs.narrow(0, start, length), labels.narrow(0, start, length));
            if (before != null && NativeStartup.MallocInUse() is { } after) Remember(encode, Math.Max(0, after - before.Value) / length);
            var grads = autograd.grad([loss * weight], parameters.Cast<Tensor>().ToList());
            foreach (var g in grads) g.DetachFromDisposeScope();
            return (Loss: weight * loss.item<float>(), Grads: grads);
        }, Shards.Together(rows, known));
        for (int i = 0; i < parameters.Count; i++)
        {
            var sum = blocks[0].Grads[i];
            foreach (var block in blocks.Skip(1)) InPlace.Add(sum, block.Grads[i]);
            parameters[i].grad = sum;
        }
        foreach (var g in blocks.SelectMany(b => b.Grads)) g.Dispose();
        return blocks.Sum(b => b.Loss);
    }
}
