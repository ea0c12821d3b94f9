using Tbar.Models;
using Tbar.Tests.Models;
using Tbar.Tests.Unlearning;
using Tbar.Training;
using static TorchSharp.torch;

namespace Tbar.Tests.Training;

/// <summary>The supervised fine-tune of the image tower, on the shipped mini-CLIP and a few random images.</summary>
public sealed class FineTuneTests : IDisposable
{
    readonly Clip model = ClipCheckpoint.Load(TbarRegressionTests.MiniClip());
    readonly ZeroShotHead head;
    readonly Tensor images, labels;

    public FineTuneTests()
    {
        head = ZeroShotHead.ForClasses(model, Tokenizers.For(model, null), ["T-shirt", "Trouser", "Bag"]);
        images = Preprocess.Normalize(rand(12, 3, 28, 28, generator: new Generator(5)), model.Config.Preprocess);
        labels = tensor(Enumerable.Range(0, 12).Select(i => (long)(i % 3)).ToArray());
    }

    public void Dispose()
    {
        images.Dispose();
        labels.Dispose();
        head.Dispose();
        model.Dispose();
    }

    TrainResult Train(long seed, double lr = 1e-3) => FineTune.Train(model, head, 12,
        batch => (images.index_select(0, tensor(batch)), labels.index_select(0, tensor(batch))),
        new TrainOptions(Epochs: 2, BatchSize: 4, LearningRate: lr, Seed: seed));

    Dictionary<string, Tensor> Snapshot() => model.Parameters().ToDictionary(p => p.Key, p => p.Value.detach().clone());

    static bool Same(Tensor a, Tensor b) => a.eq(b).all().item<bool>();

    [Fact]
    public void TrainingMovesTheImageTowerAndNothingElse()
    {
        var before = Snapshot();
        var result = Train(seed: 0);
        Assert.Equal(6, result.Steps);
        var after = model.Parameters();
        foreach (var (name, value) in before)
        {
            bool visual = name.StartsWith("visual.", StringComparison.Ordinal);
            Assert.True(visual != Same(value, after[name]), $"{name} {(visual ? "did not move" : "moved")}");
        }
        Assert.False(model.training);
    }

    [Fact]
    public void TheSameSeedGivesTheSameWeightsAndAnotherSeedOthers()
    {
        var start = Snapshot();
        Dictionary<string, Tensor> Run(long seed)
        {
            foreach (var (name, p) in model.Parameters()) using (no_grad()) p.copy_(start[name]);
            Train(seed);
            return Snapshot();
        }
        var a = Run(1);
        var b = Run(1);
        var c = Run(2);
        Assert.All(a, p => Assert.True(Same(p.Value, b[p.Key]), $"{p.Key} differs between two runs with seed 1"));
        Assert.Contains(a, p => !Same(p.Value, c[p.Key]));
    }

    [Fact]
    public void GradientsAreThoseOfTheMeanLossOverTheBatch()
    {
        var parameters = model.Visual.parameters().ToList();
        double loss = FineTune.Gradients(model, head, images, labels, parameters);
        var sharded = parameters.Select(p => p.grad!.clone()).ToList();
        foreach (var p in parameters) p.grad = null;
        using var reference = FineTune.Loss(model, head, images, labels);
        reference.backward();
        Assert.Equal(reference.item<float>(), loss, 5);
        for (int i = 0; i < parameters.Count; i++)
            Assert.True(sharded[i].allclose(parameters[i].grad!, rtol: 1e-4, atol: 1e-6), $"gradient {i} differs");
    }
    [Fact]
    public void BlocksTakingTurnsUnderTheActivationBudgetGiveTheSameGradientsBitForBit()
    {
        var parameters = model.Visual.parameters().ToList();
        List<Tensor> Grads(long budget)
        {
            long before = Shards.ActivationBudget;
            Shards.ActivationBudget = budget;
            try
            {
                foreach (var p in parameters) p.grad = null;
                FineTune.Gradients(model, head, images, labels, parameters);
                return parameters.Select(p => p.grad!.clone()).ToList();
            }
            finally { Shards.ActivationBudget = before; }
        }
        // The first step measures the forward pass and takes turns whatever the budget; the second runs together.
        var turns = Grads(0);
        var together = Grads(long.MaxValue);
        for (int i = 0; i < parameters.Count; i++) Assert.True(Same(together[i], turns[i]), $"gradient {i} differs");
    }

    [Fact]
    public void BlocksRunTogetherOnlyWhenTheirMeasuredForwardPassesFitTheBudget()
    {
        long before = Shards.ActivationBudget;
        Shards.ActivationBudget = 1000;
        try
        {
            Assert.False(Shards.Together(10, null));
            Assert.True(Shards.Together(10, 100));
            Assert.False(Shards.Together(10, 101));
        }
        finally { Shards.ActivationBudget = before; }
    }

    [Fact]
    public void BlocksNotTogetherNeverOverlap()
    {
        int inside = 0, most = 0, calls = 0;
        var order = Shards.Map(8, (start, length) =>
        {
            int now = Interlocked.Increment(ref inside);
            InterlockedMax(ref most, now);
            Interlocked.Increment(ref calls);
            Thread.Sleep(20);
            Interlocked.Decrement(ref inside);
            return start;
        }, together: false);
        Assert.Equal(1, most);
        Assert.Equal(Shards.Count(8), calls);
        Assert.Equal(order.Order(), order);
    }

    static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen) { }
    }
}

/// <summary>What the activation budget measures with: run alone, as other tests allocating at the same time would move it.</summary>
[Collection("libtorch settings")]
public sealed class MallocInUseTests
{
    [GlibcFact]
    public void MallocInUseGrowsByATensorsBytesWhileItLives()
    {
        long before = NativeStartup.MallocInUse()!.Value;
        using (var big = zeros(64 << 20, dtype: ScalarType.Byte))
        {
            long during = NativeStartup.MallocInUse()!.Value;
            Assert.InRange(during - before, 60L << 20, 72L << 20);
        }
    }
}
