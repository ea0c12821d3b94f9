using Tbar.Attacks;
using Tbar.Data;
using Tbar.Models;
using Tbar.Unlearning;
using static TorchSharp.torch;

namespace Tbar.Tests.Unlearning;

public class UnlearnTaskTests
{
    static ImageDataset Tiny() => new(randint(0, 256, [40, 1, 8, 8], dtype: ScalarType.Byte), Enumerable.Range(0, 40).Select(i => (long)(i % 4)).ToArray(),
        ["a", "b", "c", "d"], "tiny");

    [Fact]
    public void PoolSplitsAreDisjointAndForgetAvoidsTheTarget()
    {
        using var data = Tiny();
        var pool = Enumerable.Range(0, 40).Select(i => (long)i).ToArray();
        var task = UnlearnTask.FromPool(data, pool, Triggers.Parse("badnet:size=2"), 1, 8, 10, 3);
        task.Validate();
        Assert.DoesNotContain(task.Forget.Indices, i => data.Labels[i] == 1);
        Assert.Empty(task.Forget.Indices.Intersect(task.ValClean));
        Assert.Empty(task.CleanPoolIndices.Intersect(task.ValClean).Concat(task.CleanPoolIndices.Intersect(task.Forget.Indices)));
        Assert.DoesNotContain(task.ValTriggered.Indices, i => data.Labels[i] == 1);
    }

    [Fact]
    public void EmptyForgetSetAndOverlappingValidationAreRejected()
    {
        using var data = Tiny();
        var trigger = Triggers.Parse("badnet:size=2");
        long[] forget = [0, 2, 3], val = [3, 4, 6];
        var overlapping = new UnlearnTask(new TriggeredSet(data, forget, trigger), 1, data, val, new TriggeredSet(data, [4, 6], trigger), data, [8, 10]);
        Assert.Contains("overlaps the forget set", Assert.Throws<TbarException>(overlapping.Validate).Message);
        var empty = overlapping with { Forget = new TriggeredSet(data, [], trigger), ValClean = [4, 6] };
        Assert.Contains("forget set is empty", Assert.Throws<TbarException>(empty.Validate).Message);
    }

    [DataFact]
    public void ACleanModelNeedsNoAlphaAndIsLeftUnchanged()
    {
        using var model = ClipCheckpoint.Load(TbarRegressionTests.MiniClip());
        using var data = DataSpec.Load("fashion-mnist", 28);
        var tokenizer = Tokenizers.For(model, null);
        using var head = ZeroShotHead.ForClasses(model, tokenizer, data.Train.ClassNames);
        var before = VisualWeights.Hash(model);
        var task = UnlearnTask.FromPool(data.Train, data.TrainIndices.Take(3000).ToArray(), Triggers.Parse("badnet:size=3"), 8, 300, 1000, 0);
        var result = TbarMethod.Run(model, head, task, TbarOptions.Default);
        Assert.Equal(0, result.Alpha!.Alpha);
        Assert.Contains("no backdoor", result.Choice);
        Assert.Equal(before, VisualWeights.Hash(model));
    }

    [Fact]
    public void HeldOutImagesAreInNoSplitOfTheTask()
    {
        using var data = Tiny();
        var pool = Enumerable.Range(0, 40).Select(i => (long)i).ToArray();
        var task = UnlearnTask.FromPool(data, pool, Triggers.Parse("badnet:size=2"), 1, 8, 10, 3);
        var heldOut = task.HeldOut(pool, 100, 5);
        var used = task.Forget.Indices.Concat(task.ValClean).Concat(task.ValTriggered.Indices).Concat(task.CleanPoolIndices).ToHashSet();
        Assert.Equal(40 - used.Count, heldOut.Length);
        Assert.DoesNotContain(heldOut, used.Contains);
        Assert.Equal(heldOut, task.HeldOut(pool, 100, 5));
    }

    [Fact]
    public void AutoLeavesOutTheCandidatesAFolderOfTriggeredImagesCannotFeedAndSaysWhy()
    {
        using var data = Tiny();
        using var triggered = new ImageDataset(randint(0, 256, [8, 1, 8, 8], dtype: ScalarType.Byte), Enumerable.Repeat(ImageDataset.Unknown, 8).ToArray(),
            ["a", "b", "c", "d"], "triggered");
        var pool = Enumerable.Range(0, 40).Select(i => (long)i).ToArray();
        var task = UnlearnTask.FromImages(triggered, data, pool, 1, 6, 10, 3);
        var (names, skipped) = Tbar.Pipelines.AutoMethod.Candidates(null, task);
        Assert.Equal(["tbar-consistent", "tbar"], names);
        Assert.Equal(3, skipped.Count);   // ft-relabel, repair and +pam's relabelling need the true classes
        Assert.All(skipped, s => Assert.Contains("true classes", s));
        Assert.Contains("none of the candidates", Assert.Throws<TbarException>(() => Tbar.Pipelines.AutoMethod.Candidates(["repair"], task)).Message);
        var (all, none) = Tbar.Pipelines.AutoMethod.Candidates(null, UnlearnTask.FromPool(data, pool, Triggers.Parse("badnet:size=2"), 1, 8, 10, 3));
        Assert.Equal(Tbar.Pipelines.AutoMethod.DefaultCandidates, all);
        Assert.Empty(none);
    }
}
