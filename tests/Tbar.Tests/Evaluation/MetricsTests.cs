using Tbar.Attacks;
using Tbar.Data;
using Tbar.Evaluation;
using Tbar.Models;
using Tbar.Tests.Unlearning;
using TorchSharp;
using static TorchSharp.torch;

namespace Tbar.Tests.Evaluation;

public class MetricsTests
{
    [Fact]
    public void AttackSuccessExcludesTargetClassImages()
    {
        // Target 1. Images 0,1 are of the target class; 2,3,4 are victims.
        long[] labels = [1, 1, 0, 2, 0], indices = [0, 1, 2, 3, 4];
        long[] clean = [1, 0, 0, 2, 2];        // 3 of 5 correct
        long[] triggered = [1, 2, 1];          // victims 2,3,4 → target, own class, target
        var m = Metrics.Score(labels, indices, clean, 1, triggered);
        Assert.Equal(new Rate(3, 5), m.CleanAccuracy);
        Assert.Equal(new Rate(2, 3), m.AttackSuccess);
        Assert.Equal(new Rate(1, 3), m.BackdoorAccuracy);
        Assert.Equal([2L, 3, 4], Metrics.Victims(labels, indices, 1));
    }

    [Fact]
    public void WithoutATriggerOnlyCleanAccuracyIsReported()
    {
        var m = Metrics.Score([0, 1], [0, 1], [0, 0], -1, null);
        Assert.Equal(0.5, m.CleanAccuracy.Value);
        Assert.Null(m.AttackSuccess);
        Assert.Null(m.BackdoorAccuracy);
    }
}

public class SelectionTests
{
    /// <summary>GA keeps only the running best: folding Pick pairwise must give the same choice as Pick over all candidates.</summary>
    [Fact]
    public void PickingPairwiseAsCandidatesArriveEqualsPickingOverAll()
    {
        var rng = new Random(4);
        for (int trial = 0; trial < 2000; trial++)
        {
            // Coarse values so that ties happen often.
            var candidates = Enumerable.Range(0, rng.Next(1, 12)).Select(i => (Id: i, Ca: rng.Next(0, 6) / 5.0, Asr: rng.Next(0, 6) / 50.0)).ToList();
            double floor = rng.Next(0, 6) / 5.0;
            var all = Tbar.Evaluation.Selection.Pick(candidates, c => c.Ca, c => c.Asr, 0.04, floor).Best;
            var running = candidates[0];
            foreach (var c in candidates.Skip(1))
                running = Tbar.Evaluation.Selection.Pick([running, c], x => x.Ca, x => x.Asr, 0.04, floor).Best;
            Assert.Equal(all, running);
        }
    }
}

/// <summary>Prediction in row blocks leaves no tensor behind on any thread, so a batch's inputs are freed when it is done.</summary>
public class PredictionScopeTests
{
    // Tensors created outside any dispose scope on each thread that runs blocks: the calling thread and every Shards worker.
    static long[] CreatedOutsideScopes() =>
        [DisposeScopeManager.Statistics.CreatedOutsideScopeCount,
         .. Shards.Map(Shards.Workers, (_, _) => DisposeScopeManager.Statistics.CreatedOutsideScopeCount)];

    [Fact]
    public void PredictingInBlocksCreatesNoTensorOutsideAScopeOnAnyThread()
    {
        using var model = ClipCheckpoint.Load(TbarRegressionTests.MiniClip());
        using var data = new ImageDataset(randint(0, 256, [40, 1, 28, 28], generator: manual_seed(3), dtype: ScalarType.Byte),
            Enumerable.Range(0, 40).Select(i => (long)(i % 10)).ToArray(), FashionMnist.ClassNames, "random");
        using var head = ZeroShotHead.ForClasses(model, Tokenizers.For(model, null), data.ClassNames);
        var trigger = Triggers.Parse("badnet:size=3");
        // A first call creates what lives for the process (the workers' own state, the cache's entry); count from the second.
        Metrics.Evaluate(model, head, data, data.AllIndices(), trigger, 1, batchSize: 16);
        var before = CreatedOutsideScopes();
        Metrics.Evaluate(model, head, data, data.AllIndices(), trigger, 1, batchSize: 16);
        Metrics.Predict(model, head, data, data.AllIndices()[..30], null, batchSize: 7);
        Assert.Equal(before, CreatedOutsideScopes());
    }
}
