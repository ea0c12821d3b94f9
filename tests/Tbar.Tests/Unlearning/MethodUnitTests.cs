using FsCheck.Xunit;
using Tbar.Arithmetic;
using Tbar.Attacks;
using Tbar.Data;
using Tbar.Evaluation;
using Tbar.Models;
using Tbar.Training;
using Tbar.Unlearning;
using static TorchSharp.torch;

namespace Tbar.Tests.Unlearning;

/// <summary>
/// The cleaning methods one step at a time, on the mini-CLIP and 96 random 28×28 images (a few seconds each): what each
/// changes, and in which direction.
/// </summary>
public class MethodUnitTests
{
    const int Target = 8;

    /// <summary>The mini-CLIP, its head over Fashion-MNIST's classes, a task on random images, and the weights before.</summary>
    sealed record Toy(Clip Model, ZeroShotHead Head, UnlearnTask Task, Dictionary<string, Tensor> Before) : IDisposable
    {
        public string[] Changed() => [.. Model.Parameters().Where(p => !p.Value.equal(Before[p.Key]).all().item<bool>()).Select(p => p.Key).Order()];

        public void Dispose()
        {
            Head.Dispose();
            Model.Dispose();
        }
    }

    static Toy Setting()
    {
        var model = ClipCheckpoint.Load(TbarRegressionTests.MiniClip());
        using var g = new Generator(3);   // its own generator: the global one is shared with tests running beside this one
        var data = new ImageDataset(randint(0, 256, [96, 1, 28, 28], generator: g, dtype: ScalarType.Byte),
            Enumerable.Range(0, 96).Select(i => (long)(i % 10)).ToArray(), FashionMnist.ClassNames, "random");
        var head = ZeroShotHead.ForClasses(model, Tokenizers.For(model, null), data.ClassNames);
        var task = UnlearnTask.FromPool(data, data.AllIndices(), Triggers.Parse("badnet:size=3"), Target, 32, 24, 0);
        return new Toy(model, head, task, model.Parameters().ToDictionary(p => p.Key, p => p.Value.detach().clone()));
    }

    /// <summary>Mean target-label cross-entropy on the forget set: what GA pushes up.</summary>
    static double ForgetLoss(Clip model, ZeroShotHead head, UnlearnTask task)
    {
        using var guard = no_grad();
        using var scope = NewDisposeScope();
        model.eval();
        var (images, labels) = task.ForgetBatch(Enumerable.Range(0, task.Forget.Indices.Length).Select(i => (long)i).ToArray(),
            model.Config.Preprocess);
        return FineTune.Loss(model, head, images, labels).item<float>();
    }

    /// <summary>Records every progress report as it is made (Progress&lt;T&gt; would post them later).</summary>
    sealed class Reports : IProgress<TrainProgress>
    {
        public readonly List<TrainProgress> All = [];
        public void Report(TrainProgress value) => All.Add(value);
    }

    [Fact]
    public void NegationThenRelabelTakesFtRelabelsStepBudgetBetweenItsTwoParts()
    {
        using var toy = Setting();
        var (model, head, task, _) = toy;
        // Small batches and more epochs than the defaults, so both parts take several steps on the toy task.
        var defaults = MethodOptions.Default;
        var options = defaults with
        {
            Tbar = defaults.Tbar with { Recipe = defaults.Tbar.Recipe with { BatchSize = 16 } },
            Baseline = defaults.Baseline with { Epochs = 5, LearningRates = [1e-4, 3e-4] },
        };
        var reports = new Reports();
        var result = Methods.Run("tbar" + Methods.RelabelSuffix, model, head, task, options, reports);
        int tauSteps = TrainLoop.Steps(task.Forget.Indices.Length, options.Tbar.Recipe);
        int budget = Baselines.RelabelSteps(task, options.Baseline);
        Assert.True(budget > tauSteps, $"toy budget {budget} must exceed the τ fine-tune's {tauSteps} steps");
        Assert.NotEqual(tauSteps, budget - tauSteps);
        // The τ fine-tune reports its own run; every LR of the relabelling sweep reports a run of the remaining steps.
        Assert.Equal(new[] { tauSteps, budget - tauSteps }.Order(), reports.All.Select(r => r.TotalSteps).Distinct().Order());
        Assert.Equal(tauSteps, reports.All.Count(r => r.TotalSteps == tauSteps));
        Assert.Equal((budget - tauSteps) * options.Baseline.LearningRates.Length, reports.All.Count(r => r.TotalSteps == budget - tauSteps));
        Assert.NotNull(result.Alpha);
        Assert.IsType<List<LrTrial>>(result.Extra);
        Assert.True(Methods.IncludesRepair(result.Method));
    }

    [Fact]
    public void NegationThenRelabelWithNoStepsLeftSaysSo()
    {
        using var toy = Setting();
        var (model, head, task, _) = toy;
        var defaults = MethodOptions.Default;
        var options = defaults with { Tbar = defaults.Tbar with { Recipe = defaults.Tbar.Recipe with { BatchSize = 1, Epochs = 1 } } };
        var error = Assert.Throws<TbarException>(() => Methods.Run("tbar" + Methods.RelabelSuffix, model, head, task, options, null));
        Assert.Contains("no optimiser steps left", error.Message);
    }

    [Fact]
    public void PathAwareRelabellingIsRelabellingWithItsGradientsTakenBackTowardsTheBackdooredModel()
    {
        var defaults = MethodOptions.Default;
        var options = defaults with
        {
            Tbar = defaults.Tbar with { Recipe = defaults.Tbar.Recipe with { BatchSize = 16 } },
            Baseline = defaults.Baseline with { Epochs = 5, LearningRates = [3e-4] },
        };
        UnlearnResult RunOnce(string name, out Dictionary<string, Tensor> weights)
        {
            using var toy = Setting();
            var (model, head, task, _) = toy;
            var result = Methods.Run(name, model, head, task, options, null);
            weights = VisualWeights.Snapshot(model);
            return result;
        }
        var relabel = RunOnce("tbar" + Methods.RelabelSuffix, out var relabelled);
        var pam = RunOnce("tbar" + Methods.PathAwareSuffix, out var pathAware);
        // The same negation (same α), then a different relabelling: the anchor acts.
        Assert.Equal(relabel.Alpha!.Alpha, pam.Alpha!.Alpha);
        Assert.Contains($"gradients taken {Methods.DefaultPathShare:G3} of the way back", pam.Choice);
        Assert.Contains(relabelled.Keys, k => !relabelled[k].equal(pathAware[k]).all().item<bool>());
        Assert.True(Methods.IncludesRepair("tbar-consistent+pam:0.25") && Methods.NeedsForgetLabels("tbar+pam"));
        VisualWeights.Dispose([relabelled, pathAware]);
    }

    [Theory]
    [InlineData("tbar+pam")]
    [InlineData("tbar-consistent+pam:0.25")]
    [InlineData("tbar:emb-3+orth-target+pam:1")]
    public void ANegationCanBeFollowedByPathAwareRelabelling(string name) => Methods.Check(name);

    [Theory]
    [InlineData("tbar+pam:0")]
    [InlineData("tbar+pam:1.5")]
    [InlineData("ft-relabel+pam")]
    [InlineData("tbar+pam:")]
    public void APathAwareShareOutsideZeroToOneOrAfterANonNegationIsRefused(string name) =>
        Assert.Throws<TbarException>(() => Methods.Check(name));

    [Theory]
    [InlineData("ft-relabel+relabel")]
    [InlineData("repair+relabel")]
    [InlineData("tbar:no-such-estimator+relabel")]
    public void OnlyANegationCanBeFollowedByRelabelling(string name) =>
        Assert.Throws<TbarException>(() => Methods.Check(name));

    [Fact]
    public void RefitRepairChangesOnlyTheProjectionAndTheLastNorm()
    {
        using var toy = Setting();
        var (model, head, task, _) = toy;
        TbarRefit.Repair(model, head, task, RefitOptions.Default);
        var changed = toy.Changed();
        Assert.NotEmpty(changed);
        Assert.All(changed, key => Assert.True(key == "visual.proj" || key.StartsWith("visual.ln_post."), $"{key} changed"));
    }

    [Fact]
    public void RepairOnCachedTrunkFeaturesMatchesTheWholeImageRepair()
    {
        // The readout repair trains on trunk features computed once instead of running every image through the tower each
        // epoch; the layers below the readout do not change, so the re-fitted weights must agree.
        using var toy = Setting();
        var (model, head, task, before) = toy;
        TbarRefit.Repair(model, head, task, RefitOptions.Default, onTrunk: true);
        var cached = model.Parameters().Where(p => toy.Changed().Contains(p.Key)).ToDictionary(p => p.Key, p => p.Value.detach().clone());
        using (no_grad()) foreach (var (key, p) in model.Parameters()) p.copy_(before[key]);
        TbarRefit.Repair(model, head, task, RefitOptions.Default, onTrunk: false);
        Assert.Equal(cached.Keys.Order(), toy.Changed());
        foreach (var (key, value) in cached)
            Assert.True(value.allclose(model.Parameters()[key], rtol: 1e-5, atol: 1e-6), $"{key} differs between the two repairs");
    }

    [Fact]
    public void GradientAscentRaisesTheForgetLossAndLeavesTheTextTowerAlone()
    {
        using var toy = Setting();
        var (model, head, task, _) = toy;
        double lossBefore = ForgetLoss(model, head, task);
        var result = Baselines.GradientAscent(model, head, task, new BaselineOptions([1e-4], 1, 1, new AlphaRule()));
        Assert.True(ForgetLoss(model, head, task) > lossBefore, $"forget loss {lossBefore} did not rise");
        Assert.All(toy.Changed(), key => Assert.StartsWith("visual.", key));
        Assert.StartsWith("lr 0.0001, step 1", result.Choice);
    }

    [Fact]
    public void TheTriggerVectorIsExactlyTheFineTunesChangeAndNoGradientsAreKept()
    {
        using var toy = Setting();
        var (model, head, task, before) = toy;
        var recipe = new TrainOptions(Epochs: 1, BatchSize: 16, LearningRate: 1e-3, WeightDecay: 0);
        using var tau = FineTuneVectors.TriggerVector(model, head, task, recipe, null);
        Assert.Empty(toy.Changed());
        Assert.All(model.Visual.parameters(), p => Assert.Null(p.grad));
        // The same fine-tune again, from the same θ_b and seed, lands on θ_b + τ bit for bit.
        FineTune.Train(model, head, task.Forget.Indices.Length, positions => task.ForgetBatch(positions, model.Config.Preprocess), recipe);
        Assert.All(tau.Keys, key => Assert.True((model.Parameters()[key] - before[key]).equal(tau[key]).all().item<bool>(), key));
        Assert.All(model.Visual.parameters(), p => Assert.Null(p.grad));
    }

    [Fact]
    public void FineTuneReturnsTheModelWhoseValidationItReports()
    {
        using var toy = Setting();
        var (model, head, task, _) = toy;
        var result = Baselines.FineTuneClean(model, head, task, new BaselineOptions([1e-3], 1, 1, new AlphaRule()));
        var changed = toy.Changed();
        Assert.NotEmpty(changed);
        Assert.All(changed, key => Assert.StartsWith("visual.", key));
        var (ca, asr) = task.Evaluate(model, head);
        Assert.Equal((result.Validation.CleanAccuracy, result.Validation.AttackSuccess), (ca, asr));
    }

    [Fact]
    public void CleanClipLossIsTheHeadLossOnTheFirstViewPlusANonNegativeInModalTerm()
    {
        using var model = ClipCheckpoint.Load(TbarRegressionTests.MiniClip());
        using var head = ZeroShotHead.ForClasses(model, Tokenizers.For(model, null), FashionMnist.ClassNames);
        using var guard = no_grad();
        model.eval();
        var images = rand([6, 3, 28, 28], generator: manual_seed(4));
        var labels = tensor(new long[] { 0, 1, 2, 3, 4, 5 });
        var o = CleanClipOptions.Default;
        double headOnly = CleanClipStyle.Loss(model, head, images, labels, o with { SelfSupervisedWeight = 0 }, new Random(1)).item<float>();
        double both = CleanClipStyle.Loss(model, head, images, labels, o, new Random(1)).item<float>();
        var firstView = CleanClipStyle.Augment(images, o.MaxShift, new Random(1));
        double expected = FineTune.Loss(model, head, firstView, labels).item<float>();
        Assert.Equal(expected, headOnly, 4);
        Assert.True(both > headOnly, $"in-modal term {both - headOnly} should be positive");
    }

    [Fact]
    public void CleanClipViewsAreMirroredOrNotAndWithinTenPercentBrightness()
    {
        var images = rand([8, 3, 6, 6], generator: manual_seed(2)) * 0.5 + 0.25;
        var views = CleanClipStyle.Augment(images, 0, new Random(3));
        Assert.Equal(images.shape, views.shape);
        for (int i = 0; i < 8; i++)
        {
            bool Scaled(Tensor source)
            {
                var ratio = views[i] / source;
                return ratio.max().item<float>() - ratio.min().item<float>() < 1e-4 && ratio.mean().item<float>() is >= 0.9f and <= 1.1f;
            }
            Assert.True(Scaled(images[i]) || Scaled(images[i].flip(2)), $"view {i} is not a scaled (mirrored) copy");
        }
    }

    /// <summary>The projection leaves, per tensor, nothing of τ along the removed direction.</summary>
    [Property(MaxTest = 50)]
    public bool ProjectionIsOrthogonalToTheRemovedDirection(int[] tauValues, int[] cleanValues)
    {
        int n = Math.Min(tauValues.Length, cleanValues.Length);
        if (n == 0 || cleanValues.Take(n).All(v => v == 0)) return true;
        using var tau = new TaskVector(new Dictionary<string, Tensor> { ["w"] = tensor(tauValues.Take(n).Select(v => (float)v).ToArray()) });
        using var clean = new TaskVector(new Dictionary<string, Tensor> { ["w"] = tensor(cleanValues.Take(n).Select(v => (float)v).ToArray()) });
        using var projected = ProjectedTbar.Project(tau, clean);
        double dot = projected["w"].mul(clean["w"]).sum().item<float>();
        double scale = Math.Sqrt(tau["w"].square().sum().item<float>() * clean["w"].square().sum().item<float>());
        return Math.Abs(dot) <= 1e-4 * Math.Max(1, scale);
    }

    [Fact]
    public void ProjectionOffAZeroDirectionKeepsTau()
    {
        using var tau = new TaskVector(new Dictionary<string, Tensor> { ["w"] = tensor(new float[] { 1, 2 }) });
        using var zero = new TaskVector(new Dictionary<string, Tensor> { ["w"] = zeros(2) });
        using var projected = ProjectedTbar.Project(tau, zero);
        Assert.True(projected["w"].equal(tau["w"]).all().item<bool>());
    }
}
