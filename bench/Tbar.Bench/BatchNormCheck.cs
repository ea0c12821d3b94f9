using System.Diagnostics;
using System.Text.Json;
using Tbar;
using Tbar.Attacks;
using Tbar.Data;
using Tbar.Evaluation;
using Tbar.Io;
using Tbar.Models;

/// <summary>
/// Frozen BatchNorm statistics against re-estimated ones on a ResNet-towered model: CA and ASR on the first N test images
/// as loaded, then after re-estimating every BatchNorm's statistics on N clean images of the training pool.
/// </summary>
static class BatchNormCheck
{
    public static void Run(Args a)
    {
        var clock = Stopwatch.StartNew();
        using var clip = ClipCheckpoint.Load(a.Values["model"]);
        var tower = clip.Visual as ResNetTower ?? throw new TbarException("batchnorm: the model's image tower has no BatchNorm");
        using var data = DataSpec.Load("fashion-mnist", clip.Config.Vision.ImageSize);
        var trigger = Triggers.Parse(a.Values["trigger"]);
        int target = data.Test.ClassIndex(a.Values["target"]);
        int calib = int.Parse(a.Get("calib", "2000")), testCount = int.Parse(a.Get("test", "10000"));
        var test = data.Test.AllIndices().Take(testCount).ToArray();
        using var head = ZeroShotHead.ForClasses(clip, Tokenizers.For(clip, null), data.Test.ClassNames);
        var frozen = Metrics.Evaluate(clip, head, data.Test, test, trigger, target);
        var pool = data.TrainIndices.Take(calib).ToArray();
        tower.RecalibrateBatchNorm(pool.Chunk(128).Select(b => Preprocess.Normalize(data.Train.Images(b), clip.Config.Preprocess)));
        var recalibrated = Metrics.Evaluate(clip, head, data.Test, test, trigger, target);
        var result = new
        {
            benchmark = "batchnorm: frozen vs re-estimated statistics", model = a.Values["model"], trigger = trigger.Spec, target,
            calibration_images = calib, test_images = test.Length,
            frozen = new { ca = frozen.CleanAccuracy.Value, asr = frozen.AttackSuccess!.Value },
            recalibrated = new { ca = recalibrated.CleanAccuracy.Value, asr = recalibrated.AttackSuccess!.Value },
            seconds = clock.Elapsed.TotalSeconds,
        };
        string json = JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true });
        Console.WriteLine(json);
        if (a.Values.TryGetValue("out", out var outPath)) AtomicFile.WriteText(outPath, json + "\n");
    }
}
