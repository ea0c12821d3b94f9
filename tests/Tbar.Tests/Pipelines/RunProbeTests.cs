using Tbar.Attacks;
using Tbar.Data;
using Tbar.Inversion;
using Tbar.Models;
using Tbar.Pipelines;
using Tbar.Training;
using Tbar.Tests.Unlearning;
using Tbar.Unlearning;
using static TorchSharp.torch;

namespace Tbar.Tests.Pipelines;

/// <summary>The probe before `tbar unlearn`: it changes nothing, and its estimate is the method's counted work at the measured rates.</summary>
public class RunProbeTests
{
    const int Target = 8;

    static (Clip Model, ZeroShotHead Head, UnlearnTask Task) Setting()
    {
        var model = ClipCheckpoint.Load(TbarRegressionTests.MiniClip());
        using var g = new Generator(5);   // its own generator: the global one is shared with tests running beside this one
        var data = new ImageDataset(randint(0, 256, [96, 1, 28, 28], generator: g, dtype: ScalarType.Byte),
            Enumerable.Range(0, 96).Select(i => (long)(i % 10)).ToArray(), FashionMnist.ClassNames, "random");
        var head = ZeroShotHead.ForClasses(model, Tokenizers.For(model, null), data.ClassNames);
        return (model, head, UnlearnTask.FromPool(data, data.AllIndices(), Triggers.Parse("badnet:size=3"), Target, 32, 24, 0));
    }

    [Fact]
    public void TheProbeLeavesTheModelAsItWasAndNoGradients()
    {
        var (model, head, task) = Setting();
        using var _ = model;
        using var __ = head;
        var before = model.Parameters().ToDictionary(p => p.Key, p => p.Value.detach().clone());
        var estimate = RunProbe.Estimate(model, head, task, MethodOptions.Default, Methods.Work("tbar", task, MethodOptions.Default));
        Assert.All(model.Parameters(), p => Assert.True(p.Value.equal(before[p.Key]).all().item<bool>(), $"{p.Key} moved"));
        Assert.All(model.Visual.parameters(), p => Assert.Null(p.grad));
        Assert.Equal(32, estimate.BatchSize);
        Assert.True(estimate.StepSeconds > 0 && estimate.ImagesPerSecond > 0 && estimate.ProbePeak.Bytes > 0);
        long visual = model.Visual.parameters().Sum(p => p.NumberOfElements * 4);
        Assert.Equal(2 * visual, estimate.OptimizerBytes);
        Assert.Equal(task.ValClean.Length + task.ValTriggered.Indices.Length, estimate.EvaluationImages);
    }

    [Fact]
    public void TheEstimateIsTheCountedWorkAtTheMeasuredRates()
    {
        var estimate = new RunEstimate(64, 2.0, 100, new PeakMemory(1_000_000_000, "test"), 500_000_000, new MethodWork(30, 4), 250);
        Assert.Equal(30 * 2.0 + 4 * 250 / 100.0, estimate.Seconds);
        Assert.Equal(1_500_000_000, estimate.PeakBytes);
        Assert.Contains("30 steps and 4 evaluations of 250 images ≈ 70 s", estimate.Summary);
        Assert.Null((estimate with { Work = null }).Seconds);
        Assert.Contains("no step count", (estimate with { Work = null }).Summary);
    }

    [Fact]
    public void WorkCountsTheTauFineTuneTheSweepAndTheRelabelBudget()
    {
        var (model, head, task) = Setting();
        model.Dispose();
        head.Dispose();
        var o = MethodOptions.Default;
        int n = task.Forget.Indices.Length, lrs = o.Baseline.LearningRates.Length;
        int tau = TrainLoop.Steps(n, o.Consistent.Recipe), relabel = Baselines.RelabelSteps(task, o.Baseline);
        Assert.Equal(new MethodWork(tau, Methods.AlphaSearchEvaluations), Methods.Work("tbar-consistent", task, o));
        Assert.Equal(new MethodWork(relabel * lrs, lrs + 1), Methods.Work("ft-relabel", task, o));
        // +relabel: the τ fine-tune once, then every LR of the sweep on what is left of FT-relabel's budget.
        Assert.Equal(new MethodWork(tau + (relabel - tau) * lrs, Methods.AlphaSearchEvaluations + lrs + 1),
            Methods.Work("tbar-consistent+relabel", task, o));
        Assert.Null(Methods.Work("ga", task, o));
        Assert.Null(AutoMethod.Work(["tbar", "ga"], task, o));
        var auto = AutoMethod.Work(["tbar", "ft-relabel"], task, o)!;
        // Each candidate's output gets the durability and the re-tune check: a short fine-tune and an evaluation each.
        int checks = TrainLoop.Steps(AutoMethod.DurabilitySize, Defaults.Relapse) +
            TrainLoop.Steps(AutoMethod.RetuneImages + Math.Min(AutoMethod.DurabilitySize, Defaults.Retune.CleanImages), Defaults.Retune.Recipe);
        Assert.Equal(Methods.Work("tbar", task, o)!.Evaluations + lrs + 1 + 4, auto.Evaluations);
        Assert.Equal(Methods.Work("tbar", task, o)!.Steps + relabel * lrs + 2 * checks, auto.Steps);
    }

    [Fact]
    public void TheScansEstimateCountsBothInversionsSteps()
    {
        var (model, head, task) = Setting();
        using var _ = model;
        using var __ = head;
        var options = ScanOptions.Default with
        {
            Inversion = new InversionOptions(Steps: 7, BatchSize: 16), Warp = new WarpOptions(Steps: 5, Starts: 3), HeldOut = 20,
        };
        var estimate = RunProbe.ForScan(model, head, task.CleanPool, task.CleanPoolIndices, options);
        Assert.Equal(new MethodWork(7 + 5 * 3, 2), estimate.Work);
        Assert.Equal(16, estimate.BatchSize);
        Assert.Equal(20, estimate.EvaluationImages);
        Assert.Equal(0, estimate.OptimizerBytes);
        Assert.All(model.Visual.parameters(), p => Assert.Null(p.grad));
    }
}
