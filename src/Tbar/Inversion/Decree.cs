using System.Diagnostics;
using Tbar.Data;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Tbar.Inversion;

/// <summary>Settings of the trigger inversion.</summary>
/// <param name="Steps">Optimisation steps.</param>
/// <param name="BatchSize">Clean images per step.</param>
/// <param name="LearningRate">Adam step size on the mask and pattern logits.</param>
/// <param name="SimilarityTarget">Mean pairwise cosine similarity of the stamped images' embeddings that a trigger must reach.</param>
/// <param name="LambdaStart">Weight of the mask size term once the target is first reached.</param>
/// <param name="LambdaFactor">λ is multiplied by this after a step above the target and divided by it after a step below.</param>
/// <param name="Seed">Seed of the initial mask/pattern and of the batches.</param>
public sealed record InversionOptions(int Steps = 1000, int BatchSize = 128, double LearningRate = 0.05, double SimilarityTarget = 0.8,
    double LambdaStart = 0.1, double LambdaFactor = 1.05, long Seed = 0)
{
    public void Validate()
    {
        if (Steps < 1) throw new TbarException($"inversion steps must be ≥ 1 (got {Steps})");
        if (BatchSize < 2) throw new TbarException($"inversion batch size must be ≥ 2: similarity is measured between images (got {BatchSize})");
        if (!(SimilarityTarget > 0 && SimilarityTarget < 1)) throw new TbarException($"similarity target must lie in (0, 1) (got {SimilarityTarget})");
        if (!(LearningRate > 0) || !(LambdaStart > 0) || !(LambdaFactor > 1)) throw new TbarException("inversion: learning rate and λ must be > 0, the λ factor > 1");
    }
}

/// <summary>One logged point of the optimisation.</summary>
public sealed record InversionStep(int Step, double Similarity, double Pl1, double Lambda);

/// <summary>
/// The smallest trigger found and its PL1; whether any step reached the similarity target (if not, the trigger is the
/// last one and means little); the mean pairwise cosine similarity of stamped held-out images and of the same images
/// without the trigger; the optimisation trace.
/// </summary>
public sealed record InversionResult(InvertedTrigger Trigger, bool Reached, double Pl1, double Similarity, double CleanSimilarity,
    IReadOnlyList<InversionStep> Trace, double Seconds);

/// <summary>
/// DECREE-style trigger inversion on the image tower alone (no labels, no text): find a small mask m and a pattern p such
/// that stamping clean images, x' = (1 − m)⊙x + m⊙p, makes their embeddings collapse (high mean pairwise cosine
/// similarity). Loss = (1 − similarity) + λ·PL1, where PL1 = ‖m‖₁/(H·W); λ rises while the similarity is above the target
/// and falls while it is below, so the mask shrinks as far as the target allows. A backdoored encoder collapses under a
/// small trigger; a clean one needs most of the image covered.
/// </summary>
public static class Decree
{
    /// <summary>Inverts on <paramref name="train"/> indices; similarities are reported on <paramref name="heldOut"/> indices.</summary>
    public static InversionResult Invert(PixelEncoder encoder, ImageDataset data, long[] train, long[] heldOut, InversionOptions o,
        IProgress<TrainProgress>? progress = null)
    {
        o.Validate();
        if (train.Length < 2 || heldOut.Length < 2) throw new TbarException("trigger inversion needs at least 2 clean images for optimisation and 2 held out");
        var clock = Stopwatch.StartNew();
        int h = data.Height, w = data.Width;
        var generator = new Generator((ulong)o.Seed);
        // Logit-space parameters keep m and p inside (0,1) without clamping. The mask starts at 1/2 everywhere.
        var maskRaw = new TorchSharp.Modules.Parameter(zeros(1, h, w));
        var patternRaw = new TorchSharp.Modules.Parameter(Compute.FromCpu(() => randn(3, h, w, generator: generator)) * 0.1);
        using var optimizer = AdamOptimizer.Plain([maskRaw, patternRaw], o.LearningRate);
        var rng = new Random((int)o.Seed);
        var frozen = encoder.Freeze();
        var trace = new List<InversionStep>();
        Tensor? bestMask = null, bestPattern = null;
        double bestPl1 = double.PositiveInfinity, lambda = 0;
        try
        {
            var stepClock = Stopwatch.StartNew();
            for (int step = 0; step < o.Steps; step++)
            {
                using var scope = NewDisposeScope();
                var batch = Enumerable.Range(0, o.BatchSize).Select(_ => train[rng.Next(train.Length)]).ToArray();
                var mask = maskRaw.sigmoid();
                var pattern = patternRaw.sigmoid();
                var images = data.Images(batch);
                var stamped = images * (1 - mask) + pattern * mask;
                var similarity = MeanPairwiseCosine(encoder.Encode(stamped));
                var pl1 = mask.mean();
                var loss = (1 - similarity) + lambda * pl1;
                optimizer.ZeroGrad();
                loss.backward();
                optimizer.Step();
                double sim = similarity.item<float>(), size = pl1.item<float>();
                if (sim >= o.SimilarityTarget)
                {
                    if (size < bestPl1)
                    {
                        bestPl1 = size;
                        bestMask?.Dispose();
                        bestPattern?.Dispose();
                        bestMask = mask.detach().clone().MoveToOuterDisposeScope();
                        bestPattern = pattern.detach().clone().MoveToOuterDisposeScope();
                    }
                    lambda = lambda == 0 ? o.LambdaStart : lambda * o.LambdaFactor;
                }
                else if (lambda > 0) lambda /= o.LambdaFactor;
                if (step % 10 == 0 || step == o.Steps - 1) trace.Add(new InversionStep(step, sim, size, lambda));
                progress?.Report(new TrainProgress(step + 1, o.Steps, loss.item<float>(), (step + 1) * o.BatchSize / stepClock.Elapsed.TotalSeconds));
            }
            bool reached = bestMask is not null;
            if (!reached)
            {
                bestMask = maskRaw.detach().sigmoid();
                bestPattern = patternRaw.detach().sigmoid();
            }
            var trigger = new InvertedTrigger(bestMask!, bestPattern!);
            double held = encoder.Similarity(data, heldOut, trigger), clean = encoder.Similarity(data, heldOut, null);
            return new InversionResult(trigger, reached, trigger.Pl1, held, clean, trace, clock.Elapsed.TotalSeconds);
        }
        finally
        {
            bestMask?.Dispose();
            bestPattern?.Dispose();
            frozen.Dispose();
            maskRaw.Dispose();
            patternRaw.Dispose();
        }
    }

    /// <summary>Mean cosine similarity over all pairs of distinct rows: (‖Σ e‖² − B) / (B(B − 1)) for unit rows e.</summary>
    public static Tensor MeanPairwiseCosine(Tensor embeddings)
    {
        long b = embeddings.shape[0];
        var sum = F.normalize(embeddings, dim: -1).sum(dim: 0);
        return (sum.dot(sum) - b) / (b * (b - 1));
    }
}
