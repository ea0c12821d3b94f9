using System.Diagnostics;
using System.Globalization;
using Tbar.Data;
using static TorchSharp.torch;

namespace Tbar.Inversion;

/// <summary>Settings of the warp inversion.</summary>
/// <param name="Steps">Optimisation steps per start.</param>
/// <param name="BatchSize">Clean images per step.</param>
/// <param name="LearningRate">Adam step size on the raw flow and residual.</param>
/// <param name="Grid">Control points per side of the flow, e.g. 4 (WaNet's own k).</param>
/// <param name="MaxShift">Largest shift of a control point, in pixels: the warp's budget.</param>
/// <param name="Residual">Largest |r| of the additive residual, in [0,1] pixel units: its budget (0 = a pure warp).</param>
/// <param name="Starts">Random starts; the one with the highest similarity on the inversion images is kept.</param>
/// <param name="Seed">Seed of the starts and of the batches.</param>
public sealed record WarpOptions(int Steps = 100, int BatchSize = 32, double LearningRate = 0.05, int Grid = 4, double MaxShift = 4,
    double Residual = 0, int Starts = 2, long Seed = 0)
{
    public void Validate()
    {
        if (Steps < 1 || Starts < 1) throw new TbarException($"warp inversion: steps and starts must be ≥ 1 (got {Steps}, {Starts})");
        if (BatchSize < 2) throw new TbarException($"warp inversion batch size must be ≥ 2: similarity is between images (got {BatchSize})");
        if (Grid < 2) throw new TbarException($"warp grid must be ≥ 2 control points per side (got {Grid})");
        if (!(MaxShift > 0) || !(Residual >= 0 && Residual <= 1) || !(LearningRate > 0))
            throw new TbarException($"warp inversion: max shift and learning rate must be > 0, the residual bound in [0, 1]");
    }

    /// <summary>The bounds written beside an inverted warp.</summary>
    public IReadOnlyDictionary<string, string> Bounds => new Dictionary<string, string>
    {
        ["grid"] = Grid.ToString(CultureInfo.InvariantCulture),
        ["max_shift_pixels"] = MaxShift.ToString("R", CultureInfo.InvariantCulture),
        ["residual_bound"] = Residual.ToString("R", CultureInfo.InvariantCulture),
    };
}

/// <summary>
/// The warp found and its score: the mean pairwise cosine similarity of warped held-out images' embeddings (higher = the
/// tower collapses more under a warp of this budget = more suspicious), the same images' similarity unwarped, and the
/// similarity each start reached on the inversion images.
/// </summary>
public sealed record WarpResult(InvertedWarp Trigger, double Similarity, double CleanSimilarity, IReadOnlyList<double> StartSimilarities,
    double Seconds);

/// <summary>
/// The second inversion, for triggers that are not stamps: a smooth warp (k×k control points, each shifted at most
/// MaxShift pixels, upsampled bicubically) plus an additive residual bounded by ε, both held inside their budgets by tanh.
/// It maximises the collapse DECREE measures — the mean pairwise cosine similarity of the triggered images' embeddings —
/// at a fixed budget, so no λ schedule and no scan over classes. A tower backdoored by a warp collapses under a warp of
/// the attack's size; a clean tower does not, because a warp moves pixels but cannot paint a class.
/// </summary>
public static class WarpInversion
{
    /// <summary>Inverts on <paramref name="train"/> indices; the score is measured on <paramref name="heldOut"/> indices.</summary>
    public static WarpResult Invert(PixelEncoder encoder, ImageDataset data, long[] train, long[] heldOut, WarpOptions o,
        IProgress<TrainProgress>? progress = null)
    {
        o.Validate();
        if (train.Length < 2 || heldOut.Length < 2)
            throw new TbarException("warp inversion needs at least 2 clean images for optimisation and 2 held out");
        var clock = Stopwatch.StartNew();
        var generator = new Generator((ulong)o.Seed);
        var rng = new Random((int)o.Seed);
        InvertedWarp? best = null;
        double bestSimilarity = double.NegativeInfinity;
        var reached = new List<double>();
        using (encoder.Freeze())
            for (int start = 0; start < o.Starts; start++)
            {
                var (warp, similarity) = OneStart(encoder, data, train, o, generator, rng, start, progress);
                reached.Add(similarity);
                if (similarity > bestSimilarity)
                {
                    best?.Dispose();
                    (best, bestSimilarity) = (warp, similarity);
                }
                else warp.Dispose();
            }
        double held = encoder.Similarity(data, heldOut, best), clean = encoder.Similarity(data, heldOut, null);
        return new WarpResult(best!, held, clean, reached, clock.Elapsed.TotalSeconds);
    }

    /// <summary>One start: Adam on the raw flow and residual; returns the warp and its mean similarity over the last tenth of steps.</summary>
    static (InvertedWarp Warp, double Similarity) OneStart(PixelEncoder encoder, ImageDataset data, long[] train, WarpOptions o,
        Generator generator, Random rng, int start, IProgress<TrainProgress>? progress)
    {
        int h = data.Height, w = data.Width;
        // A random start of moderate shifts: at the identity every direction of a symmetric field looks alike.
        using var flowRaw = new TorchSharp.Modules.Parameter(Compute.FromCpu(() => randn(1, 2, o.Grid, o.Grid, generator: generator)) * 0.5);
        using var residualRaw = new TorchSharp.Modules.Parameter(zeros(1, 3, h, w));
        using var optimizer = AdamOptimizer.Plain([flowRaw, residualRaw], o.LearningRate);
        var tail = new List<double>();
        var clock = Stopwatch.StartNew();
        for (int step = 0; step < o.Steps; step++)
        {
            using var scope = NewDisposeScope();
            var batch = Enumerable.Range(0, o.BatchSize).Select(_ => train[rng.Next(train.Length)]).ToArray();
            var warped = InvertedWarp.Warp(data.Images(batch), o.MaxShift * flowRaw.tanh(), o.Residual * residualRaw.tanh());
            var similarity = Decree.MeanPairwiseCosine(encoder.Encode(warped));
            var loss = 1 - similarity;
            optimizer.ZeroGrad();
            loss.backward();
            optimizer.Step();
            // The last tenth of the steps, averaged: one batch's similarity is noisy.
            if (step >= o.Steps - Math.Max(1, o.Steps / 10)) tail.Add(similarity.item<float>());
            int done = start * o.Steps + step + 1;
            progress?.Report(new TrainProgress(done, o.Starts * o.Steps, loss.item<float>(), (step + 1) * o.BatchSize / clock.Elapsed.TotalSeconds));
        }
        using var flow = (o.MaxShift * flowRaw.detach().tanh())[0];
        using var residual = (o.Residual * residualRaw.detach().tanh())[0];
        return (new InvertedWarp(flow, residual), tail.Average());
    }
}
