using Tbar.Data;
using Tbar.Io;
using static TorchSharp.torch;

namespace Tbar.Tests.Data;

public class DataTests : TempFolder
{
    [Fact]
    public void HalvesAreDisjointCompleteAndSeeded()
    {
        var (a, b) = Splits.Halves(1001, 5);
        Assert.Equal(501, a.Length);
        Assert.Empty(a.Intersect(b));
        Assert.Equal(Enumerable.Range(0, 1001).Select(i => (long)i), a.Concat(b).Order());
        Assert.Equal(a, Splits.Halves(1001, 5).A);
        Assert.NotEqual(a, Splits.Halves(1001, 6).A);
        var parts = Splits.Take(b, 1, 100, 200);
        Assert.Empty(parts[0].Intersect(parts[1]));
        Assert.All(parts.SelectMany(p => p), i => Assert.Contains(i, b));
        Assert.Throws<TbarException>(() => Splits.Take(b, 1, 400, 200));
    }

    [Fact]
    public void GreyImagesBecomeThreeChannels()
    {
        using var data = new ImageDataset(randint(0, 256, [2, 1, 4, 4], dtype: ScalarType.Byte), [0, 1], ["a", "b"], "test");
        using var images = data.Images([1]);
        Assert.Equal([1L, 3, 4, 4], images.shape);
        Assert.True(images[0, 0].eq(images[0, 2]).all().item<bool>());
    }

    [Fact]
    public void ClassNamesAndIndicesResolveAndUnknownsListTheValidOnes()
    {
        using var data = new ImageDataset(zeros(1, 1, 2, 2, dtype: ScalarType.Byte), [0], ["Cat", "Ankle boot"], "test");
        Assert.Equal(1, data.ClassIndex("ankle BOOT"));
        Assert.Equal(0, data.ClassIndex("0"));
        var e = Assert.Throws<TbarException>(() => data.ClassIndex("dog"));
        Assert.Contains("Cat, Ankle boot", e.Message);
    }

    [Fact]
    public void MissingFashionMnistSaysHowToGetIt()
    {
        var e = Assert.Throws<TbarException>(() => FashionMnist.Load("train", temp));
        Assert.Contains("apt-get install dataset-fashion-mnist", e.Message);
    }

    [Fact]
    public void CifarBinaryBatchesLoad()
    {
        var record = new byte[3073];
        record[0] = 7;
        record[1] = 200;
        File.WriteAllBytes(Path.Combine(temp, "test_batch.bin"), [.. record, .. record]);
        for (int i = 1; i <= 5; i++) File.WriteAllBytes(Path.Combine(temp, $"data_batch_{i}.bin"), record);
        using var test = Cifar.Load(temp, 10, "test");
        Assert.Equal(2, test.Count);
        Assert.Equal(7, test.Labels[1]);
        Assert.Equal(200, test.Pixels[0, 0, 0, 0].item<byte>());
        File.WriteAllBytes(Path.Combine(temp, "test_batch.bin"), [1, 2, 3]);
        Assert.Contains("not a whole number", Assert.Throws<TbarException>(() => Cifar.Load(temp, 10, "test")).Message);
    }

    [Fact]
    public void ImageFolderLoadsClassesAndCachesDecodedPixels()
    {
        foreach (var (cls, value) in new[] { ("cat", 0.2f), ("dog", 0.8f) })
        {
            Directory.CreateDirectory(Path.Combine(temp, "imgs", cls));
            ImageFile.SavePng(Path.Combine(temp, "imgs", cls, "a.png"), full(3, 12, 16, value));
        }
        string cache = Path.Combine(temp, "cache");
        using var first = ImageFolder.Load(Path.Combine(temp, "imgs"), 8, cache);
        Assert.Equal(["cat", "dog"], first.ClassNames);
        Assert.Equal([2L, 1, 8, 8], first.Pixels.shape);   // grey: held as one channel
        Assert.Single(Directory.GetFiles(cache));
        using var second = ImageFolder.Load(Path.Combine(temp, "imgs"), 8, cache);
        Assert.True(first.Pixels.eq(second.Pixels).all().item<bool>());
    }

    [Fact]
    public void AGreyFolderIsHeldAsOneChannelAndGivesTheSameImagesAsThreeAColourOneKeepsThree()
    {
        using var grey = randint(0, 256, [4, 1, 6, 6], dtype: ScalarType.Byte);
        using var three = grey.expand(-1, 3, -1, -1).contiguous();
        using var held = ImageFolder.OneChannelIfGrey(three.clone());
        Assert.Equal([4L, 1, 6, 6], held.shape);
        long[] all = [0, 1, 2, 3];
        using (var asOne = new ImageDataset(held.clone(), [0, 1, 0, 1], ["a", "b"], "t"))
        using (var asThree = new ImageDataset(three.clone(), [0, 1, 0, 1], ["a", "b"], "t"))
        using (var a = asOne.Images(all))
        using (var b = asThree.Images(all))
            Assert.True(a.eq(b).all().item<bool>(), "one held channel gives other images than three equal ones");
        using var colour = three.clone();
        colour[0, 2, 0, 0] = tensor((byte)(colour[0, 0, 0, 0].item<byte>() ^ 1));
        using var kept = ImageFolder.OneChannelIfGrey(colour);
        Assert.Equal([4L, 3, 6, 6], kept.shape);
    }

    [Fact]
    public void UnknownDataSpecListsTheValidOnes()
    {
        Assert.Contains("fashion-mnist", Assert.Throws<TbarException>(() => DataSpec.Load("mnist", 28)).Message);
    }
}

public class CaptionCsvTests : TempFolder
{
    [Fact]
    public void ReadsQuotedCaptionsAndRelativeImagePaths()
    {
        Directory.CreateDirectory(Path.Combine(temp, "img"));
        ImageFile.SavePng(Path.Combine(temp, "img", "a.png"), full(3, 10, 12, 0.5f));
        File.WriteAllText(Path.Combine(temp, "pairs.csv"), "image,caption\nimg/a.png,\"a bag, \"\"grey\"\"\"\nimg/a.png,plain\n");
        using var pairs = CaptionCsv.Load(Path.Combine(temp, "pairs.csv"), 8);
        Assert.Equal(["a bag, \"grey\"", "plain"], pairs.Captions);
        Assert.Equal([2L, 3, 8, 8], pairs.Pixels.shape);
    }

    [Fact]
    public void MissingColumnsAndImagesAreClearErrors()
    {
        string csv = Path.Combine(temp, "bad.csv");
        File.WriteAllText(csv, "file_name,label\nx.png,1\n");
        Assert.Contains("no column named image", Assert.Throws<TbarException>(() => CaptionCsv.Load(csv, 8)).Message);
        File.WriteAllText(csv, "image,caption\nmissing.png,a dog\n");
        Assert.Contains("missing.png", Assert.Throws<TbarException>(() => CaptionCsv.Load(csv, 8)).Message);
    }
}
