using Tbar.Io;
using Tbar.Models;
using static TorchSharp.torch;

namespace Tbar.Tests.Models;

public class PreprocessTests : TempFolder
{
    [Fact]
    public void PngRoundTripIsExactForEightBitValues()
    {
        using var image = randint(0, 256, [3, 5, 7], generator: new Generator(0)).to(ScalarType.Float32) / 255f;
        string path = Path.Combine(temp, "a.png");
        ImageFile.SavePng(path, image);
        using var back = ImageFile.LoadRgb(path);
        Assert.Equal([3L, 5, 7], back.shape);
        Assert.True(back.allclose(image, rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void GreyImagesBecomeThreeEqualChannels()
    {
        string path = Path.Combine(temp, "g.png");
        ImageFile.SavePng(path, linspace(0, 1, 12).view(3, 4));
        using var back = ImageFile.LoadRgb(path);
        Assert.True(back[0].eq(back[1]).all().item<bool>() && back[1].eq(back[2]).all().item<bool>());
    }

    [Fact]
    public void ImageAtInputSizeIsUnchangedByResizeAndCrop()
    {
        using var image = rand(3, 32, 32, generator: new Generator(1));
        using var cropped = Preprocess.CenterCrop(Preprocess.ResizeShortSide(image, 32), 32);
        Assert.True(cropped.eq(image).all().item<bool>());
    }

    [Fact]
    public void ResizeKeepsAspectAndConstantsStayConstant()
    {
        using var image = full(3, 40, 60, 0.25f);
        using var resized = Preprocess.ResizeShortSide(image, 20);
        Assert.Equal([3L, 20, 30], resized.shape);
        Assert.True(resized.allclose(full(3, 20, 30, 0.25f), atol: 1e-5));
    }

    [Fact]
    public void DownscaleAveragesLikeAnAntialiasedFilter()
    {
        // A fine checkerboard shrunk by 4 must come out near its mean (no aliasing).
        using var checker = ((arange(64).view(64, 1) + arange(64).view(1, 64)) % 2).to(ScalarType.Float32).expand(3, -1, -1).contiguous();
        using var small = Preprocess.ResizeShortSide(checker, 16);
        Assert.True(Math.Abs(small.mean().item<float>() - 0.5f) < 0.02f);
        Assert.True((small - 0.5f).abs().max().item<float>() < 0.1f);
    }

    [Fact]
    public void CenterCropOffsetsFollowTorchvision()
    {
        using var image = arange(7 * 6).view(1, 7, 6).to(ScalarType.Float32);
        using var crop = Preprocess.CenterCrop(image, 4);
        // top = round(3/2) = 2 (half to even), left = round(2/2) = 1
        Assert.Equal(2 * 6 + 1, crop[0, 0, 0].item<float>());
        Assert.Throws<TbarException>(() => Preprocess.CenterCrop(image, 8));
    }

    [Fact]
    public void NormalizeUsesPerChannelMeanAndStd()
    {
        var config = new PreprocessConfig(2, [0.1f, 0.2f, 0.3f], [0.5f, 0.25f, 2f]);
        using var x = ones(3, 2, 2);
        using var y = Preprocess.Normalize(x, config);
        Assert.Equal(new[] { 1.8f, 3.2f, 0.35f }, new[] { y[0, 0, 0].item<float>(), y[1, 0, 0].item<float>(), y[2, 1, 1].item<float>() });
    }

    [Fact]
    public void BatchAndSingleImagePathsAgree()
    {
        using var batch = rand(2, 3, 30, 40, generator: new Generator(2));
        var config = PreprocessConfig.Clip(24);
        using var together = Preprocess.Apply(batch, config);
        using var alone = Preprocess.Apply(batch[1], config);
        Assert.True(together[1].allclose(alone, atol: 1e-6));
    }

    [Fact]
    public void MissingAndCorruptFilesNameTheFile()
    {
        string missing = Path.Combine(temp, "none.png"), corrupt = Path.Combine(temp, "bad.png");
        File.WriteAllBytes(corrupt, [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        Assert.Contains(missing, Assert.Throws<TbarException>(() => ImageFile.LoadRgb(missing)).Message);
        Assert.Contains(corrupt, Assert.Throws<TbarException>(() => ImageFile.LoadRgb(corrupt)).Message);
    }

    [FixtureFact]
    public void FixturePngDecodesToEightBitLevels()
    {
        using var image = ImageFile.LoadRgb(Path.Combine(Fixtures.Dir("clip-tiny-quickgelu"), "inputs", "image0.png"));
        Assert.Equal([3L, 32, 32], image.shape);
        using var levels = image * 255;
        Assert.True(levels.allclose(levels.round(), atol: 1e-4));
    }
}
