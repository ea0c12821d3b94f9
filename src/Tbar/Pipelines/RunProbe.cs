using System.Diagnostics;
using Tbar.Data;
using Tbar.Inversion;
using Tbar.Models;
using Tbar.Training;
using Tbar.Unlearning;
using static TorchSharp.torch;

namespace Tbar.Pipelines;

/// <summary>
/// What a short probe measured before a long run, and the estimate it gives: printed by <c>tbar unlearn</c> before it starts.
/// </summary>
/// <param name="BatchSize">Images in the probed training step.</param>
/// <param name="StepSeconds">Seconds of one training step's gradients (the second of two: the first measures the forward pass).</param>
/// <param name="ImagesPerSecond">Evaluation speed on validation images.</param>
/// <param name="ProbePeak">Resident-memory peak of the probe (everything loaded so far included).</param>
/// <param name="OptimizerBytes">What AdamW's two moments of the image tower will add (not yet allocated at the probe).</param>
/// <param name="Work">The method's training steps and full evaluations (<see cref="Methods.Work"/>); null when not known.</param>
/// <param name="EvaluationImages">Images in one full evaluation (clean and triggered validation images).</param>
/// <param name="StepName">What a step is, for the summary.</param>
public sealed record RunEstimate(int BatchSize, double StepSeconds, double ImagesPerSecond, PeakMemory ProbePeak, long OptimizerBytes,
    MethodWork? Work, long EvaluationImages, string StepName = "a training step")
{
    /// <summary>The estimated peak: the probe's plus the optimiser state.</summary>
    public long PeakBytes => ProbePeak.Bytes + OptimizerBytes;

    /// <summary>The estimated seconds of the method, or null when its work is not known.</summary>
    public double? Seconds => Work is { } w ? w.Steps * StepSeconds + w.Evaluations * EvaluationImages / ImagesPerSecond : null;

    /// <summary>One line for the console.</summary>
    public string Summary =>
        $"probe: {StepName} of {BatchSize} images took {StepSeconds:F1} s, evaluation ran at {ImagesPerSecond:F0} img/s; " +
        (Work is { } w && Seconds is { } s
            ? $"estimate: {w.Steps} steps and {w.Evaluations} evaluations of {EvaluationImages} images ≈ {Format(s)}, "
            : "no step count for this method, ") +
        $"peak memory ≈ {PeakBytes / 1e9:F1} GB (probe {ProbePeak.Bytes / 1e9:F1} GB + optimiser {OptimizerBytes / 1e9:F1} GB)";

    static string Format(double seconds) => seconds < 90 ? $"{seconds:F0} s" : seconds < 5400 ? $"{seconds / 60:F0} min" : $"{seconds / 3600:F1} h";
}

/// <summary>The short probe before <c>tbar unlearn</c>'s run (issue: "print an estimate of time and peak memory from a short probe").</summary>
public static class RunProbe
{
    /// <summary>
    /// Times two training steps' gradients on the first forget images (no update, and the model in the mode it is in: eval
    /// after loading, so no BatchNorm statistic moves) and one evaluation batch, reads the peak resident memory, and estimates a run of
    /// <paramref name="work"/> from them (<see cref="Methods.Work"/>, <see cref="AutoMethod.Work"/>).
    /// </summary>
    public static RunEstimate Estimate(Clip model, ZeroShotHead head, UnlearnTask task, MethodOptions options, MethodWork? work)
    {
        int batch = Math.Min(options.Consistent.Recipe.BatchSize, task.Forget.Indices.Length);
        long[] positions = [.. Enumerable.Range(0, batch).Select(i => (long)i)];
        long[] clean = [.. task.ValClean.Take(Math.Min(256, task.ValClean.Length))];
        var (step, rate, peak) = Probe(model, head, () => task.ForgetBatch(positions, model.Config.Preprocess), task.ValData, clean);
        long optimizer = 2 * model.Visual.parameters().Sum(p => p.NumberOfElements * p.ElementSize);
        return new RunEstimate(batch, step, rate, peak, optimizer, work, task.ValClean.Length + task.ValTriggered.Indices.Length);
    }

    /// <summary>
    /// The same probe before <c>tbar scan</c>: an inversion step is a forward and backward pass of a batch, as a training step
    /// is (the probe's step also fills the weights' gradients, which an inversion does not, so the estimate is on the high
    /// side); the work is DECREE's steps and the warp's starts × steps, then a pass over the held-out images per inversion.
    /// </summary>
    public static RunEstimate ForScan(Clip model, ZeroShotHead head, ImageDataset data, long[] pool, ScanOptions options)
    {
        int batch = Math.Min(options.Inversion.BatchSize, pool.Length);
        long[] first = pool[..batch], look = pool[..Math.Min(256, pool.Length)];
        var (step, rate, peak) = Probe(model, head, () =>
        {
            using var raw = data.Images(first);
            return (Preprocess.Apply(raw, model.Config.Preprocess), zeros(batch, dtype: ScalarType.Int64));
        }, data, look);
        var warp = options.WarpSettings;
        return new RunEstimate(batch, step, rate, peak, 0,
            new MethodWork(options.Inversion.Steps + warp.Steps * warp.Starts, 2), Math.Min(options.HeldOut, pool.Length),
            "a forward and backward pass (an inversion step, at most)");
    }

    static (double Step, double Rate, PeakMemory Peak) Probe(Clip model, ZeroShotHead head, Func<(Tensor Images, Tensor Labels)> batch,
        ImageDataset evalData, long[] evalIndices)
    {
        var parameters = model.Visual.parameters().ToList();
        double step = 0;
        var (_, peak) = PeakMemory.Measure(() =>
        {
            using var scope = NewDisposeScope();
            var (images, labels) = batch();
            for (int k = 0; k < 2; k++)
            {
                var clock = Stopwatch.StartNew();
                FineTune.Gradients(model, head, images, labels, parameters);
                step = clock.Elapsed.TotalSeconds;
                TrainLoop.DropGradients(parameters);
            }
            return 0;
        });
        var timer = Stopwatch.StartNew();
        Evaluation.Metrics.Predict(model, head, evalData, evalIndices);
        return (step, evalIndices.Length / Math.Max(timer.Elapsed.TotalSeconds, 1e-6), peak);
    }
}
