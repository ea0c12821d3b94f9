using Tbar.Data;
using Tbar.Evaluation;
using Tbar.Models;
using static TorchSharp.torch;

namespace Tbar.Tests.Evaluation;

/// <summary>The evaluation input cache frees what it drops itself, at once or when the last reader is done.</summary>
public sealed class InputCacheTests
{
    // 28 px inputs: 9,408 bytes an image. A cache of 10 images' worth keeps sets of up to 4.
    static readonly PreprocessConfig Config = new(28, [0.5f, 0.5f, 0.5f], [0.25f, 0.25f, 0.25f]);
    static readonly long Image = InputCache.BytesOf(1, Config);

    static (long[] Indices, Tensor[] Batches) Set(int first, int count) =>
        (Enumerable.Range(first, count).Select(i => (long)i).ToArray(), [zeros(count, 3, 28, 28)]);

    static ImageDataset Data() =>
        new(zeros([20, 1, 28, 28], dtype: ScalarType.Byte), new long[20], FashionMnist.ClassNames, "zeros");

    [Fact]
    public void ADroppedSetIsFreedAtOnceWhenNobodyReadsIt()
    {
        using var data = Data();
        var cache = new InputCache(4 * Image, 10 * Image);
        var (a, aBatches) = Set(0, 4);
        var (b, bBatches) = Set(4, 4);
        var (c, cBatches) = Set(8, 4);
        Assert.True(cache.Keep(data, null, Config, a, 8, aBatches));
        Assert.True(cache.Keep(data, null, Config, b, 8, bBatches));
        Assert.False(aBatches[0].IsInvalid);
        // The third set goes over the budget: the least recently used (a) is dropped and freed.
        Assert.True(cache.Keep(data, null, Config, c, 8, cBatches));
        Assert.True(aBatches[0].IsInvalid);
        Assert.Null(cache.Find(data, null, Config, a, 8));
        using var found = cache.Find(data, null, Config, b, 8);
        Assert.Same(bBatches, found!.Batches);
        // Too large to keep: refused, and left to the caller.
        var (big, bigBatches) = Set(0, 5);
        Assert.False(cache.Fits(5, Config));
        Assert.False(cache.Keep(data, null, Config, big, 8, bigBatches));
        Assert.False(bigBatches[0].IsInvalid);
    }

    [Fact]
    public void ASetDroppedWhileLeasedIsFreedWhenTheLastLeaseEnds()
    {
        using var data = Data();
        var cache = new InputCache(4 * Image, 8 * Image);
        var (a, aBatches) = Set(0, 4);
        Assert.True(cache.Keep(data, null, Config, a, 8, aBatches));
        var first = cache.Find(data, null, Config, a, 8)!;
        var second = cache.Find(data, null, Config, a, 8)!;
        var (b, bBatches) = Set(4, 4);
        var (c, cBatches) = Set(8, 4);
        Assert.True(cache.Keep(data, null, Config, b, 8, bBatches));
        Assert.True(cache.Keep(data, null, Config, c, 8, cBatches));
        Assert.Null(cache.Find(data, null, Config, a, 8));
        Assert.False(aBatches[0].IsInvalid);
        first.Dispose();
        first.Dispose();   // a second end of the same lease changes nothing
        Assert.False(aBatches[0].IsInvalid);
        Assert.Equal(0f, second.Batches[0].sum().item<float>());
        second.Dispose();
        Assert.True(aBatches[0].IsInvalid);
    }
}
