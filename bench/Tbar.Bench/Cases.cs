using System.Diagnostics;
using Tbar.Evaluation;
using Tbar.Models;
using Tbar.Training;
using static TorchSharp.torch;

/// <summary>One timed case: a model, what is timed, the batch, and the per-iteration seconds.</summary>
sealed record CaseResult(string Model, string Kind, int Batch, int Threads, double[] Seconds, double GflopPerImage)
{
    public double MedianSeconds => Timing.Median(Seconds);
    public double ImagesPerSecond => Batch / MedianSeconds;
    public double Gflops => GflopPerImage * ImagesPerSecond;
}

/// <summary>
/// The three things users wait for, on the image tower: a forward pass, a training step (the library's own loop:
/// AdamW, gradient clipping, schedule) and an evaluation pass (uint8 pixels → preprocessing → tower → zero-shot head → argmax).
/// </summary>
static class Cases
{
    public static readonly string[] Kinds = ["forward", "train", "eval"];

    /// <summary>The batch each case uses unless told: the issue's sizes (forward 500 / train 64 for the mini-CLIP, 32 for ViT-B/32).</summary>
    public static int DefaultBatch(string model, string kind) => (model, kind) switch
    {
        ("mini-clip", "forward") => 500,
        ("mini-clip", "train") => 64,
        ("vit-b-32", "eval") => 32,
        ("rn18-clip", "eval") => 64,
        ("vit-b-32", _) => 32,
        ("rn18-clip", "forward") => 256,
        ("rn18-clip", "train") => 64,
        (_, "eval") => 256,
        _ => 64,
    };

    public static CaseResult Run(BenchModel m, string kind, int batch, int iters) => kind switch
    {
        "forward" => Forward(m, batch, iters),
        "train" => Train(m, batch, iters),
        "eval" => Eval(m, batch, iters),
        _ => throw new Tbar.TbarException($"unknown case '{kind}' (valid: {string.Join(", ", Kinds)})"),
    };

    static CaseResult Forward(BenchModel m, int batch, int iters)
    {
        m.Clip.eval();
        var (images, labels) = m.RandomBatch(batch);
        using var _i = images;
        using var _l = labels;
        var seconds = Timing.Runs(iters, () =>
        {
            Embeddings.EncodeImages(m.Clip, images).Dispose();
        });
        return Result(m, "forward", batch, seconds, 1);
    }

    /// <summary>Steps of <see cref="FineTune.Train"/> on one fixed batch; each step's time is read off the progress reports.</summary>
    static CaseResult Train(BenchModel m, int batch, int iters)
    {
        const int warmup = 2;
        var (images, labels) = m.RandomBatch(batch);
        using var _i = images;
        using var _l = labels;
        var stamps = new StepClock();
        var options = new TrainOptions(Epochs: 1, BatchSize: batch, LearningRate: 1e-5, WeightDecay: 0.1);
        FineTune.Train(m.Clip, m.Head, batch * (warmup + iters), _ => (images, labels), options, stamps);
        return Result(m, "train", batch, stamps.Durations().Skip(warmup).ToArray(), 3);
    }

    /// <summary>Metrics.Predict over a random uint8 set of 4 batches, timed per pass; reported per batch.</summary>
    static CaseResult Eval(BenchModel m, int batch, int iters)
    {
        const int batches = 4;
        using var data = m.RandomDataset(batch * batches);
        var indices = data.AllIndices();
        var seconds = Timing.Runs(iters, () => Metrics.Predict(m.Clip, m.Head, data, indices, null, batch));
        return Result(m, "eval", batch, seconds.Select(s => s / batches).ToArray(), 1);
    }

    static CaseResult Result(BenchModel m, string kind, int batch, double[] seconds, double flopFactor) =>
        new(m.Name, kind, batch, get_num_threads(), seconds, flopFactor * Flops.ImageTowerForward(m.Clip.Config) / 1e9);

    /// <summary>Time stamps of the training loop's progress reports (synchronous, unlike Progress&lt;T&gt;).</summary>
    sealed class StepClock : IProgress<Tbar.TrainProgress>
    {
        readonly Stopwatch clock = Stopwatch.StartNew();
        readonly List<double> stamps = [0];

        public void Report(Tbar.TrainProgress value) => stamps.Add(clock.Elapsed.TotalSeconds);

        public IEnumerable<double> Durations() => stamps.Zip(stamps.Skip(1), (a, b) => b - a);
    }
}
