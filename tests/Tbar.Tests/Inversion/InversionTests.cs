using System.Text.Json;
using Tbar.Data;
using Tbar.Inversion;
using Tbar.Io;
using Tbar.Models;
using Tbar.Pipelines;
using Tbar.Tests.Unlearning;
using Tbar.Training;
using Tbar.Unlearning;
using static TorchSharp.torch;

namespace Tbar.Tests.Inversion;

public class InversionTests : TempFolder
{
    [Fact]
    public void StampingIsTheMaskedBlend()
    {
        var mask = zeros(1, 2, 2);
        mask[0, 0, 1] = 1;
        mask[0, 1, 0] = 0.25f;
        using var trigger = new InvertedTrigger(mask, full(3, 2, 2, 0.8f));
        using var images = full(1, 3, 2, 2, 0.4f);
        using var stamped = trigger.Apply(images);
        Assert.Equal(0.4f, stamped[0, 1, 0, 0].item<float>(), 6);
        Assert.Equal(0.8f, stamped[0, 1, 0, 1].item<float>(), 6);
        Assert.Equal(0.75f * 0.4f + 0.25f * 0.8f, stamped[0, 2, 1, 0].item<float>(), 6);
        Assert.Equal(1.25 / 4, trigger.Pl1, 6);
    }

    [Fact]
    public void MasksOutsideZeroOneNaNsAndWrongShapesAreRejected()
    {
        Assert.Contains("[0, 1]", Assert.Throws<TbarException>(() => new InvertedTrigger(full(1, 3, 3, 1.5f), zeros(3, 3, 3))).Message);
        Assert.Contains("[0, 1]", Assert.Throws<TbarException>(() => new InvertedTrigger(zeros(1, 3, 3), full(3, 3, 3, -0.1f))).Message);
        Assert.Contains("NaN", Assert.Throws<TbarException>(() => new InvertedTrigger(full(1, 3, 3, float.NaN), zeros(3, 3, 3))).Message);
        Assert.Contains("pattern must be", Assert.Throws<TbarException>(() => new InvertedTrigger(zeros(1, 3, 3), zeros(3, 4, 3))).Message);
        using var t = new InvertedTrigger(zeros(1, 3, 3), zeros(3, 3, 3));
        Assert.Contains("3×3", Assert.Throws<TbarException>(() => t.Apply(zeros(1, 3, 4, 4))).Message);
    }

    [Fact]
    public void SavedTriggersLoadBackExactly()
    {
        var generator = new TorchSharp.torch.Generator(5);
        using var trigger = new InvertedTrigger(rand(1, 6, 5, generator: generator), rand(3, 6, 5, generator: generator));
        trigger.Save(temp);
        using var back = InvertedTrigger.Load(temp);
        Assert.True(back.Mask.eq(trigger.Mask).all().item<bool>());
        Assert.True(back.Pattern.eq(trigger.Pattern).all().item<bool>());
        Assert.True(File.Exists(Path.Combine(temp, "mask.png")) && File.Exists(Path.Combine(temp, "pattern.png")));
        Assert.Contains("no inverted trigger", Assert.Throws<TbarException>(() => InvertedTrigger.Load(Path.Combine(temp, "missing"))).Message);
        SafeTensors.Save(Path.Combine(temp, "other.safetensors"), new Dictionary<string, Tensor> { ["w"] = zeros(2) });
        Assert.Contains("'mask' and 'pattern'", Assert.Throws<TbarException>(() => InvertedTrigger.Load(Path.Combine(temp, "other.safetensors"))).Message);
    }

    [Fact]
    public void MeanPairwiseCosineMatchesTheDirectMean()
    {
        var generator = new TorchSharp.torch.Generator(3);
        using var e = randn(7, 5, generator: generator);
        double direct = 0;
        var rows = Enumerable.Range(0, 7).Select(i => e[i] / e[i].norm()).ToArray();
        for (int i = 0; i < 7; i++)
            for (int j = 0; j < 7; j++)
                if (i != j) direct += rows[i].dot(rows[j]).item<float>();
        Assert.Equal(direct / 42, Decree.MeanPairwiseCosine(e).item<float>(), 5);
        using var same = ones(4, 3);
        Assert.Equal(1.0, Decree.MeanPairwiseCosine(same).item<float>(), 5);
    }

    [Fact]
    public void TheThresholdComesFromCleanModelsOnly()
    {
        var calibration = Scanner.Calibrate([new("clean a", 0.03, 0.8), new("clean b", 0.02, 0.81)], "arch");
        Assert.Equal(ScanCalibration.Fraction * 0.02, calibration.Threshold, 12);
        Assert.Throws<TbarException>(() => Scanner.Calibrate([], "arch"));
    }

    [Fact]
    public void TheShippedCalibrationHoldsCleanModelsWithSeedsApartFromTheExperiments()
    {
        string path = Path.Combine(TbarRegressionTests.MiniClip(), "scan-calibration.json");
        var calibration = ScanCalibration.Load(path);
        var verdict = calibration.Verdict!;
        var fit = calibration.CleanModels.Select(m => m.Model).ToList();
        var held = verdict.HeldOut!.Models.Select(m => m.Model).ToList();
        Assert.Equal(20, fit.Count);
        Assert.Equal(20, held.Count);
        Assert.Empty(fit.Intersect(held));
        Assert.All(fit.Concat(held), m => Assert.Matches(@"^clean-seed-\d+$", m));
        var seeds = fit.Concat(held).Select(m => long.Parse(m["clean-seed-".Length..]));
        // The experiments' seeds (the agnostic experiment's 1–3, the main table's 0–2, the demo's 0 and 7) are never calibration seeds.
        Assert.Empty(seeds.Intersect(new long[] { 0, 1, 2, 3, 7, 100, 101 }));
        Assert.Equal(ScanCalibration.Fraction * calibration.CleanModels.Min(m => m.Pl1), calibration.Threshold, 12);
        Assert.Equal(1 - verdict.TargetFpr / 2, verdict.Threshold, 12);
    }

    [Fact]
    public void ForgetSourcesAreParsedWithClearErrors()
    {
        Assert.Equal("trigger", ForgetSource.Parse("trigger:badnet:size=3").Kind);
        Assert.Contains("unknown kind 'patch'", Assert.Throws<TbarException>(() => ForgetSource.Parse("patch:x")).Message);
        Assert.Contains("expected trigger:SPEC", Assert.Throws<TbarException>(() => ForgetSource.Parse("images:")).Message);
        Assert.Contains("no such folder", Assert.Throws<TbarException>(() => ForgetSource.Parse($"images:{Path.Combine(temp, "none")}")).Message);
        Assert.Contains("no inverted trigger", Assert.Throws<TbarException>(() => ForgetSource.Parse($"inverted:{temp}")).Message);
        Assert.Contains("--target is required", Assert.Throws<TbarException>(() => ForgetSource.Parse($"images:{temp}").Target(null)).Message);
        using (var t = new InvertedTrigger(zeros(1, 4, 4), zeros(3, 4, 4))) t.Save(temp);
        // A scan.json that is not a scan record is an error naming it, not a silent "no target".
        File.WriteAllText(Path.Combine(temp, "scan.json"), JsonSerializer.Serialize(new { results = new { target_name = "Bag" } }));
        Assert.Contains("scan.json: not a `tbar scan` record", Assert.Throws<TbarException>(() => ForgetSource.Parse($"inverted:{temp}")).Message);
        var summary = new ScanSummary("backdoored", true, 0.01, 0.02, "test", 8, "Bag", 0.9, 9, 10, true, 0.8, 0.1, 1);
        new RunRecord("test", ScanSettings.Of("m", "fashion-mnist", ScanOptions.Default), 0, summary, 1).Save(Path.Combine(temp, "scan.json"));
        Assert.Equal("Bag", ForgetSource.Parse($"inverted:{temp}").Target(null));
        Assert.Equal("Shirt", ForgetSource.Parse($"inverted:{temp}").Target("Shirt"));
    }

    /// <summary>
    /// A toy backdoor whose answer is known: the mini-CLIP trained briefly with a 3×3 checker patch in the bottom-right
    /// corner (rows and columns 25–27). The ViT cuts images into 7×7 patches with one shared embedding, so the learnt
    /// detector fires on the patch at the same offset inside any patch (offsets 4–6); the inversion may place it in another
    /// patch. The mask must sit on those offsets (chance: 9/49 of the image), be small, and send images to the target.
    /// </summary>
    // ≈ 45 s on 2 cores: a backdoor training and a 300-step inversion.
    [DataFact, Trait("Category", "Slow")]
    public void APlantedPatchIsRecovered()
    {
        using var model = ClipCheckpoint.Load(TbarRegressionTests.MiniClip());
        using var data = DataSpec.Load("fashion-mnist", 28);
        var tokenizer = Tokenizers.For(model, null);
        var train = data.TrainIndices.Take(4000).ToArray();
        var attack = BackdoorAttack.Run(model, tokenizer, data.Train, train, data.Test,
            new AttackOptions("badnet:size=3", "Bag", 0.1, AttackMode.Supervised, new TrainOptions(2, 128, 5e-4, 0.1)), temp);
        Assert.True(attack.Test.AttackSuccess!.Value > 0.9, $"the toy backdoor did not take (ASR {attack.Test.AttackSuccess})");
        using var head = ZeroShotHead.ForClasses(model, tokenizer, data.Train.ClassNames);
        var pool = data.TrainIndices.Skip(4000).Take(2000).ToArray();
        var verdict = Scanner.Scan(model, head, data.Train, pool, 0.05, "test", new ScanOptions(new InversionOptions(Steps: 300, BatchSize: 64), 1000, 500));
        using var mask = verdict.Inversion.Trigger.Mask;
        Assert.True(mask.min().item<float>() >= 0 && mask.max().item<float>() <= 1);
        Assert.True(verdict.Inversion.Reached);
        var offsets = zeros(28, 28);
        for (int r = 0; r < 28; r++)
            for (int c = 0; c < 28; c++)
                if (r % 7 >= 4 && c % 7 >= 4) offsets[r, c] = 1;
        double onOffsets = (mask[0] * offsets).sum().item<float>() / mask.sum().item<float>();
        Assert.True(onOffsets > 0.5, $"only {onOffsets:P0} of the mask lies on the planted patch's offsets");
        Assert.True(verdict.Pl1 < 0.02, $"PL1 {verdict.Pl1:P2}: the planted patch covers 1.1%");
        Assert.Equal("Bag", verdict.TargetName);
    }
}
