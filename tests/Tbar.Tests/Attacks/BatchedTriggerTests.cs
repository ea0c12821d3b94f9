using Tbar.Attacks;
using Tbar.Io;
using Tbar.Unlearning;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Tbar.Tests.Attacks;

/// <summary>The batched triggers against the per-image loops they replaced (kept here as the reference).</summary>
public class BatchedTriggerTests : TempFolder
{
    static Tensor Images(int b = 6) => rand(b, 3, 28, 28, generator: new Generator(11));

    // The former BadNet.Apply for a fixed corner: one image at a time.
    static Tensor PerImagePaste(Tensor images, Tensor patch, long top, long left)
    {
        var output = images.clone();
        long size = patch.shape[1];
        for (long i = 0; i < images.shape[0]; i++)
            output[i, .., TensorIndex.Slice(top, top + size), TensorIndex.Slice(left, left + size)] = patch;
        return output;
    }

    [Theory]
    [InlineData("badnet:size=3,loc=br", 25, 25)]
    [InlineData("badnet:size=4,pattern=noise,loc=tl,seed=3", 0, 0)]
    [InlineData("badnet:size=5,pattern=noise,loc=tr,seed=1", 0, 23)]
    [InlineData("badnet:size=2,loc=bl", 26, 0)]
    public void FixedCornerBadNetIsBitIdenticalToThePerImageLoop(string spec, long top, long left)
    {
        var trigger = (BadNet)Triggers.Parse(spec);
        using var x = Images();
        using var patch = trigger.Patch();
        using var expected = PerImagePaste(x, patch, top, left);
        using var got = trigger.Apply(x);
        Assert.True(got.eq(expected).all().item<bool>());
    }

    [Fact]
    public void ABlendPatternFirstMadeInsideADisposeScopeOutlivesIt()
    {
        var trigger = Triggers.Parse("blended:ratio=0.2,pattern=noise,seed=0");
        using var images = Images();
        Tensor first;
        using (NewDisposeScope()) first = trigger.Apply(images, new long[6]).DetachFromDisposeScope();
        using (first)
        using (var again = trigger.Apply(images, new long[6]))
            Assert.True(first.equal(again).all().item<bool>());
    }

    [Fact]
    public void AnImagePatternIsDecodedOnceAndPastedAsBefore()
    {
        string png = Path.Combine(temp, "p.png");
        using (var source = rand(3, 9, 9, generator: new Generator(5))) ImageFile.SavePng(png, source);
        var trigger = (BadNet)Triggers.Parse($"badnet:size=4,pattern=image,loc=br,path={png}");
        File.Delete(png);   // decoded at construction: applying needs the file no more
        using var x = Images();
        using var got = trigger.Apply(x);
        using var patch = trigger.Patch();
        Assert.True(got.eq(PerImagePaste(x, patch, 24, 24)).all().item<bool>());
    }

    [Fact]
    public void BlendedIsBitIdenticalToTheFormerMixture()
    {
        var trigger = (Blended)Triggers.Parse("blended:ratio=0.2,seed=4");
        using var x = Images();
        using var pattern = rand(3, 28, 28, generator: new Generator(4));
        using var expected = x * (1 - 0.2) + pattern * 0.2;
        Assert.True(trigger.Apply(x).eq(expected).all().item<bool>());
        Assert.True(trigger.Apply(x).eq(expected).all().item<bool>());   // the cached pattern is not consumed
    }

    [Fact]
    public void RandomBadNetPlacesEachImageByItsIdNotItsRow()
    {
        var trigger = Triggers.Parse("badnet:size=3,loc=random,seed=9");
        using var x = Images(4);
        long[] ids = [10, 11, 12, 13];
        using var all = trigger.Apply(x, ids);
        // The same images in another order and in another batch get the same patches.
        using var reversed = trigger.Apply(x.flip(0), [.. ids.Reverse()]);
        Assert.True(all.eq(reversed.flip(0)).all().item<bool>());
        using var alone = trigger.Apply(x.narrow(0, 2, 1), [12]);
        Assert.True(all.narrow(0, 2, 1).eq(alone).all().item<bool>());
        // Places differ between ids, and only 3×3 pixels change per image.
        using var changed = all.ne(x).any(1).sum([1, 2]);
        Assert.All(changed.data<long>().ToArray(), n => Assert.InRange(n, 1, 9));
        var corners = Enumerable.Range(0, 4).Select(i => all[i].ne(x[i]).any(0).nonzero()[0].data<long>().ToArray()).ToList();
        Assert.True(corners.Select(c => (c[0], c[1])).Distinct().Count() > 1);
        Assert.False(Triggers.Parse("badnet:size=3,loc=random,seed=8").Apply(x, ids).eq(all).all().item<bool>());
    }

    // The former CleanClipStyle.Augment: one view per image, the same draws in the same order.
    static Tensor PerImageAugment(Tensor images, int maxShift, Random rng)
    {
        long h = images.shape[2], w = images.shape[3];
        var padded = F.pad(images, [maxShift, maxShift, maxShift, maxShift], TorchSharp.PaddingModes.Replicate);
        var views = new List<Tensor>();
        for (int i = 0; i < images.shape[0]; i++)
        {
            int dy = rng.Next(2 * maxShift + 1), dx = rng.Next(2 * maxShift + 1);
            var view = padded[i].narrow(1, dy, h).narrow(2, dx, w);
            if (rng.Next(2) == 1) view = view.flip(2);
            views.Add(view * (0.9 + 0.2 * rng.NextDouble()));
        }
        return stack(views);
    }

    [Fact]
    public void BatchedAugmentationIsBitIdenticalToThePerImageLoop()
    {
        using var x = Images(16);
        using var expected = PerImageAugment(x, 3, new Random(17));
        using var got = CleanClipStyle.Augment(x, 3, new Random(17));
        Assert.True(got.eq(expected).all().item<bool>());
    }
}

public class InMemoryPatchTests : TempFolder
{
    [Fact]
    public void AnEightBitPatchInMemoryEqualsTheSavedPngItsSpecNames()
    {
        using var optimised = rand(3, 4, 4, generator: new Generator(3));
        using var patch = optimised.mul(255).round().div(255);
        string png = Path.Combine(temp, "patch.png");
        ImageFile.SavePng(png, patch);
        var inMemory = new BadNet(patch, "br", $"badnet:size=4,pattern=image,loc=br,seed=0,path={png}");
        var reread = (BadNet)Triggers.Parse(inMemory.Spec);
        using var x = rand(5, 3, 28, 28, generator: new Generator(4));
        Assert.True(inMemory.Apply(x).eq(reread.Apply(x)).all().item<bool>());
    }
}
