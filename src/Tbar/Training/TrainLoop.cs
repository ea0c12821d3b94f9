using System.Diagnostics;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tbar.Training;

/// <summary>
/// The shared loop: seeded shuffling into batches, AdamW with warm-up + cosine, gradient clipping, progress.
/// The caller supplies the loss of one batch of indices.
/// </summary>
public static class TrainLoop
{
    /// <summary>Trains <paramref name="parameters"/> over <paramref name="count"/> examples; <paramref name="loss"/> maps batch indices to a scalar loss.</summary>
    public static TrainResult Run(IList<Parameter> parameters, int count, TrainOptions options, Func<long[], Tensor> loss,
        IProgress<TrainProgress>? progress = null) =>
        RunWithGradients(parameters, count, options, batch =>
        {
            var value = loss(batch);
            value.backward();
            return value.item<float>();
        }, progress);

    /// <summary>Optimiser steps of a run over <paramref name="count"/> items: epochs × batches per epoch (the last one partial).</summary>
    public static int Steps(int count, TrainOptions options) => (count + options.BatchSize - 1) / options.BatchSize * options.Epochs;

    /// <summary>
    /// As <see cref="Run"/>, but <paramref name="gradients"/> fills the parameters' gradients for a batch of indices itself
    /// (e.g. from row blocks computed side by side, <see cref="Shards"/>) and returns the batch's loss.
    /// </summary>
    public static TrainResult RunWithGradients(IList<Parameter> parameters, int count, TrainOptions options, Func<long[], double> gradients,
        IProgress<TrainProgress>? progress = null)
    {
        options.Validate();
        if (count == 0) throw new TbarException("cannot train on an empty set");
        int perEpoch = (count + options.BatchSize - 1) / options.BatchSize, total = Steps(count, options);
        using var optimizer = AdamOptimizer.W(parameters, options.LearningRate, options.WeightDecay);
        var rng = new Random((int)(options.Seed & 0x7fffffff));
        var clock = Stopwatch.StartNew();
        int step = 0;
        long seen = 0;
        double epochLoss = 0;
        try
        {
            for (int epoch = 0; epoch < options.Epochs; epoch++)
            {
                var order = Shuffle.Permutation(count, rng);
                epochLoss = 0;
                for (int b = 0; b < perEpoch; b++, step++)
                {
                    var batch = order.AsSpan(b * options.BatchSize, Math.Min(options.BatchSize, count - b * options.BatchSize)).ToArray();
                    double value = Step(optimizer, parameters, options, options.RateAt(step, total), () => gradients(batch));
                    epochLoss += value;
                    seen += batch.Length;
                    progress?.Report(new TrainProgress(step + 1, total, value, seen / clock.Elapsed.TotalSeconds));
                }
            }
        }
        finally
        {
            DropGradients(parameters);
        }
        return new TrainResult(step, seen, epochLoss / perEpoch, clock.Elapsed.TotalSeconds);
    }

    // Gradients are as large as the parameters they belong to. Dropped rather than zeroed before each step, so the backward
    // pass allocates them as it frees the activations (the values are the same: a fresh gradient equals one added to
    // zeros), and dropped after the loop, since nothing reads them then.
    internal static void DropGradients(IList<Parameter> parameters)
    {
        foreach (var p in parameters) p.grad = null;
    }

    static double Step(AdamOptimizer optimizer, IList<Parameter> parameters, TrainOptions options, double rate, Func<double> gradients)
    {
        using var scope = NewDisposeScope();
        optimizer.LearningRate = rate;
        DropGradients(parameters);
        double result = gradients();
        if (options.ClipNorm > 0) nn.utils.clip_grad_norm_(parameters, options.ClipNorm);
        optimizer.Step();
        if (!double.IsFinite(result)) throw new TbarException($"training diverged (loss {result}); lower the learning rate");
        return result;
    }
}
