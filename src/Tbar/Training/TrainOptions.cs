namespace Tbar.Training;

/// <summary>Optimiser and schedule of a training run (AdamW, linear warm-up then cosine decay to zero).</summary>
/// <param name="Epochs">Passes over the data, e.g. 1 for a forget set.</param>
/// <param name="BatchSize">Images per step, e.g. 128.</param>
/// <param name="LearningRate">Peak learning rate, e.g. 1e-5 for CLIP fine-tuning, 1e-3 for pre-training a small model.</param>
/// <param name="WeightDecay">AdamW decoupled weight decay, e.g. 0.1.</param>
/// <param name="WarmupFraction">Share of steps with linear warm-up, e.g. 0.1.</param>
/// <param name="ClipNorm">Gradient-norm clip, e.g. 1.0 (0 = off).</param>
/// <param name="Seed">Seed of shuffling and any randomness in the loop.</param>
public sealed record TrainOptions(int Epochs = 1, int BatchSize = 128, double LearningRate = 1e-5, double WeightDecay = 0.1,
    double WarmupFraction = 0.1, double ClipNorm = 1.0, long Seed = 0)
{
    /// <summary>Learning rate at <paramref name="step"/> of <paramref name="total"/>.</summary>
    public double RateAt(int step, int total)
    {
        int warmup = Math.Max(1, (int)Math.Round(WarmupFraction * total));
        if (step < warmup) return LearningRate * (step + 1) / warmup;
        double progress = (double)(step - warmup) / Math.Max(1, total - warmup);
        return LearningRate * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }

    /// <summary>Throws naming the bad field.</summary>
    public void Validate()
    {
        if (Epochs < 1) throw new TbarException($"epochs must be ≥ 1 (got {Epochs})");
        if (BatchSize < 1) throw new TbarException($"batch size must be ≥ 1 (got {BatchSize})");
        if (!(LearningRate > 0)) throw new TbarException($"learning rate must be > 0 (got {LearningRate})");
        if (WarmupFraction is < 0 or > 1) throw new TbarException($"warm-up fraction must be in [0, 1] (got {WarmupFraction})");
    }
}

/// <summary>What a training run did.</summary>
/// <param name="Steps">Optimiser steps taken.</param>
/// <param name="Images">Images seen.</param>
/// <param name="FinalLoss">Mean loss over the last epoch.</param>
/// <param name="Seconds">Wall time.</param>
public sealed record TrainResult(int Steps, long Images, double FinalLoss, double Seconds);
