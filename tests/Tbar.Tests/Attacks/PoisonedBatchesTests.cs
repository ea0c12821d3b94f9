using FsCheck.Xunit;
using Tbar.Attacks;
using Tbar.Data;
using Tbar.Models;
using static TorchSharp.torch;

namespace Tbar.Tests.Attacks;

public class PoisonedBatchesTests
{
    static readonly PreprocessConfig Config = PreprocessConfig.Clip(8);

    /// <summary>For any plan, a batch holds the trigger and the target label at exactly the planned indices.</summary>
    [Property(MaxTest = 25)]
    public bool PoisonedRowsAreExactlyThePlannedOnes(bool[] plan)
    {
        int n = Math.Min(plan.Length, 24);
        if (n == 0) return true;
        using var data = new ImageDataset(randint(0, 200, [24, 1, 8, 8], generator: manual_seed(1), dtype: ScalarType.Byte),
            Enumerable.Range(0, 24).Select(i => (long)(i % 3)).ToArray(), ["a", "b", "c"], "tiny");
        long[] indices = [.. Enumerable.Range(0, n).Select(i => (long)(23 - i))];
        var poisoned = indices.Where((_, p) => plan[p]).ToHashSet();
        const int target = 2;
        var batches = new PoisonedBatches(data, indices, Triggers.Parse("badnet:size=2,pattern=checker"), poisoned, target, Config);
        long[] positions = [.. Enumerable.Range(0, n).Select(i => (long)i)];
        var (images, labels) = batches.Labelled(positions);
        using var clean = Preprocess.Apply(data.Images(indices), Config);
        for (int p = 0; p < n; p++)
        {
            bool isPoisoned = poisoned.Contains(indices[p]);
            long expectedLabel = isPoisoned ? target : data.Labels[indices[p]];
            if (labels[p].item<long>() != expectedLabel) return false;
            if (images[p].equal(clean[p]).all().item<bool>() == isPoisoned) return false;
        }
        return true;
    }
}
