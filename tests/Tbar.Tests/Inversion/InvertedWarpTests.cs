using Tbar.Attacks;
using Tbar.Inversion;
using Tbar.Io;
using static TorchSharp.torch;

namespace Tbar.Tests.Inversion;

public class InvertedWarpTests : TempFolder
{
    static Tensor Images(long seed) => rand(3, 3, 28, 28, generator: new Generator((ulong)seed));

    [Fact]
    public void AZeroWarpIsTheIdentity()
    {
        using var warp = new InvertedWarp(zeros(2, 4, 4), zeros(3, 28, 28));
        using var images = Images(1);
        using var warped = warp.Apply(images);
        Assert.True(warped.allclose(images, atol: 1e-5), "a zero flow and residual moved pixels");
        Assert.Equal(0, warp.MeanShift, 9);
    }

    [Fact]
    public void TheFamilyHoldsWaNetsOwnWarp()
    {
        // WaNet's grid adds s·up/H to the identity (grid units); the same field as control-point shifts in pixels,
        // (s/H)·(side − 1)/2 · field/mean|field|, must warp the same. Edge pixels differ (WaNet clamps its grid), so compare inside.
        const double s = 1.5;
        var wanet = new WaNet(TriggerSpec.Parse($"wanet:k=4,s={s},seed=7"));
        var field = Compute.FromCpu(() => rand(1, 2, 4, 4, generator: new Generator(7))) * 2 - 1;
        field = field / field.abs().mean();
        using var warp = new InvertedWarp(field[0] * (s / 28 * 27 / 2), zeros(3, 28, 28));
        using var images = Images(2);
        using var ours = warp.Apply(images);
        using var theirs = wanet.Apply(images);
        Assert.True(ours[.., .., 3..^3, 3..^3].allclose(theirs[.., .., 3..^3, 3..^3], atol: 1e-4), "the inverted-warp family misses WaNet's field");
    }

    [Fact]
    public void SavedWarpsLoadBackExactlyAndBadOnesAreRejected()
    {
        var g = new Generator(5);
        using var warp = new InvertedWarp(rand(2, 4, 4, generator: g) * 2 - 1, (rand(3, 28, 28, generator: g) - 0.5) * 0.02);
        warp.Save(temp, new WarpOptions().Bounds);
        using var back = InvertedWarp.Load(temp);
        Assert.True(back.Flow.eq(warp.Flow).all().item<bool>() && back.Residual.eq(warp.Residual).all().item<bool>());
        Assert.True(File.Exists(Path.Combine(temp, "warp.json")) && File.Exists(Path.Combine(temp, "warp-residual.png")));
        Assert.Contains("no inverted warp", Assert.Throws<TbarException>(() => InvertedWarp.Load(Path.Combine(temp, "none"))).Message);
        Assert.Contains("(2, k, k)", Assert.Throws<TbarException>(() => new InvertedWarp(zeros(2, 4, 3), zeros(3, 8, 8))).Message);
        Assert.Contains("NaN", Assert.Throws<TbarException>(() => new InvertedWarp(full(2, 4, 4, float.NaN), zeros(3, 8, 8))).Message);
        Assert.Contains("[−1, 1]", Assert.Throws<TbarException>(() => new InvertedWarp(zeros(2, 4, 4), full(3, 8, 8, 2f))).Message);
        Assert.Contains("image side", Assert.Throws<TbarException>(() => new InvertedWarp(full(2, 4, 4, 9f), zeros(3, 8, 8))).Message);
        string other = Path.Combine(temp, "other.safetensors");
        SafeTensors.Save(other, new Dictionary<string, Tensor> { ["flow"] = zeros(2, 4, 4, dtype: ScalarType.Int32), ["residual"] = zeros(3, 8, 8) });
        Assert.Contains("floating point", Assert.Throws<TbarException>(() => InvertedWarp.Load(other)).Message);
        using var small = new InvertedWarp(zeros(2, 4, 4), zeros(3, 8, 8));
        Assert.Contains("8×8", Assert.Throws<TbarException>(() => small.Apply(zeros(1, 3, 28, 28))).Message);
    }

    [Fact]
    public void AScanFolderGivesTheInversionItsScanCallsBest()
    {
        using (var stamp = new InvertedTrigger(zeros(1, 28, 28), zeros(3, 28, 28))) stamp.Save(temp);
        using (var warp = new InvertedWarp(zeros(2, 4, 4), zeros(3, 28, 28))) warp.Save(temp, new WarpOptions().Bounds);
        foreach (var best in new[] { "warp", "decree" })
        {
            var summary = new ScanSummary("backdoored", true, 0.01, 0.9, "test", 8, "Bag", 0.9, 9, 10, true, 0.8, 0.1, 1,
                new WarpSummary(0.99, best, 0.5, 0.99, "Bag", 0.5, 0.9, 0.1, 1.2, 0.03, "Bag", 0.9, 2));
            new RunRecord("test", ScanSettings.Of("m", "fashion-mnist", ScanOptions.Default), 0, summary, 1).Save(Path.Combine(temp, ScanRecord.FileName));
            var source = Tbar.Unlearning.ForgetSource.Parse($"inverted:{temp}");
            Assert.IsType(best == "warp" ? typeof(InvertedWarp) : typeof(InvertedTrigger), source.Trigger);
        }
        Assert.IsType<InvertedWarp>(Tbar.Unlearning.ForgetSource.Parse($"inverted:{Path.Combine(temp, InvertedWarp.FileName)}").Trigger);
    }
}
