using Tbar.Arithmetic;
using Tbar.Attacks;
using Tbar.Data;
using Tbar.Evaluation;
using Tbar.Models;
using Tbar.Training;
using Tbar.Unlearning;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Tbar.Tests.Unlearning;

/// <summary>The τ estimators on the shipped mini-CLIP and a small task (a few seconds each).</summary>
public class TauEstimatorTests
{
    sealed class Fixture : IDisposable
    {
        public readonly Clip Model = ClipCheckpoint.Load(TbarRegressionTests.MiniClip());
        public readonly DataSplits Data = DataSpec.Load("fashion-mnist", 28);
        public readonly ZeroShotHead Head;
        public readonly UnlearnTask Task;

        public Fixture()
        {
            Head = ZeroShotHead.Build(Model, Tokenizers.For(Model, null), Data.Train.ClassNames, Captions.Templates);
            Task = UnlearnTask.FromPool(Data.Train, Data.TrainIndices.Take(3000).ToArray(), Triggers.Parse("badnet:size=3"), 8, 512, 300, 0);
        }

        public static TrainOptions Recipe => new(Epochs: 2, BatchSize: 64, LearningRate: 3e-4, WeightDecay: 0, WarmupFraction: 0.1);

        public TaskVector Estimate(ITauEstimator estimator) => estimator.Estimate(Model, Head, Task);

        /// <summary>Mean squared distance of unit-norm clean-budget embeddings between the model as it is and with τ added.</summary>
        public double CleanDrift(TaskVector tau)
        {
            using var guard = no_grad();
            using var raw = Data.Train.Images(Task.CleanBudget.Take(256).ToArray());
            using var x = Preprocess.Apply(raw, Model.Config.Preprocess);
            using var before = F.normalize(Model.EncodeImage(x), dim: -1);
            using var edit = new WeightEdit(Model, tau);
            edit.Set(1);
            using var after = F.normalize(Model.EncodeImage(x), dim: -1);
            edit.Restore();
            return (after - before).square().sum(1).mean().item<float>();
        }

        public void Dispose()
        {
            Head.Dispose();
            Data.Dispose();
            Model.Dispose();
        }
    }

    [DataFact]
    public void TheEmbeddingPenaltyKeepsCleanOutputsWhereThePlainVectorMovesThem()
    {
        using var f = new Fixture();
        var hash = VisualWeights.Hash(f.Model);
        using var plain = f.Estimate(new ForgetFineTune(Fixture.Recipe));
        using var held = f.Estimate(new ForgetFineTune(Fixture.Recipe, new CleanConsistency(Consistency.Embeddings, 1000)));
        Assert.Equal(hash, VisualWeights.Hash(f.Model));
        double plainDrift = f.CleanDrift(plain), heldDrift = f.CleanDrift(held);
        Assert.True(heldDrift < 0.2 * plainDrift, $"clean drift with the penalty {heldDrift:G3} vs plain {plainDrift:G3}");
        Assert.True(held.Norm() > 0, "the penalised vector is empty");
    }

    /// <summary>Mean over a batch of ‖J(θ_b; x)·τ‖² / ‖f(x; θ_b)‖²: how far τ moves these images' embeddings to first order.</summary>
    static double LinearDrift(Fixture f, TaskVector tau, Tensor x)
    {
        var lin = new Linearisation(f.Model.Visual);
        var (output, jvp) = lin.Jvp(x, lin.Parameters.Select(p => tau["visual." + p.Name]).ToList());
        using (output) using (jvp) return jvp.square().sum(1).mean().item<float>() / output.square().sum(1).mean().item<float>();
    }

    [DataFact]
    public void TheTangentVectorLearnsTheForgetTaskInTheLinearModelAndItsDriftPenaltyHoldsCleanImages()
    {
        using var f = new Fixture();
        var hash = VisualWeights.Hash(f.Model);
        using var tangent = f.Estimate(TauEstimators.Get("tangent", Fixture.Recipe));
        using var held = f.Estimate(TauEstimators.Get("tangent-drift-100", Fixture.Recipe));
        Assert.Equal(hash, VisualWeights.Hash(f.Model));
        Assert.Equal("tangent", tangent.Metadata["estimator"]);
        // The linear model at θ_b + τ answers the target on triggered images more than θ_b does.
        var (images, labels) = f.Task.ForgetBatch(Enumerable.Range(0, 128).Select(i => (long)i).ToArray(), f.Model.Config.Preprocess);
        var lin = new Linearisation(f.Model.Visual);
        var (output, jvp) = lin.Jvp(images, lin.Parameters.Select(p => tangent["visual." + p.Name]).ToList());
        double Loss(Tensor e) => ForgetFineTune.ForgetLoss(f.Head, e, labels, false).item<float>();
        Assert.True(Loss(output + jvp) < Loss(output) - 0.1, $"forget loss {Loss(output):G3} → {Loss(output + jvp):G3} in the linear model");
        AssertHeld(f, tangent, held);
    }

    /// <summary>The penalised vector moves 128 clean-budget images' embeddings, to first order, less than half as far as the free one.</summary>
    static void AssertHeld(Fixture f, TaskVector free, TaskVector penalised)
    {
        using var raw = f.Data.Train.Images(f.Task.CleanBudget.Take(128).ToArray());
        using var clean = Preprocess.Apply(raw, f.Model.Config.Preprocess);
        double moved = LinearDrift(f, free, clean), held = LinearDrift(f, penalised, clean);
        Assert.True(held < 0.5 * moved, $"clean drift with the penalty {held:G3} vs without {moved:G3}");
    }

    [DataFact]
    public void TheDriftPenaltyInTheOrdinaryFineTuneHoldsCleanImagesToFirstOrder()
    {
        using var f = new Fixture();
        var hash = VisualWeights.Hash(f.Model);
        using var plain = f.Estimate(new ForgetFineTune(Fixture.Recipe));
        using var held = f.Estimate(new ForgetFineTune(Fixture.Recipe, Drift: new DriftPenalty(100)));
        Assert.Equal(hash, VisualWeights.Hash(f.Model));
        AssertHeld(f, plain, held);
    }

    [DataFact]
    public void FrozenLayersStayOutOfTheVector()
    {
        using var f = new Fixture();
        using var tau = f.Estimate(new ForgetFineTune(Fixture.Recipe, Frozen: ["proj", "ln_post."], EmbeddingLoss: true));
        Assert.Equal(0, tau["visual.proj"].abs().max().item<float>());
        Assert.Equal(0, tau["visual.ln_post.weight"].abs().max().item<float>());
        Assert.True(tau.Norm() > 0);
    }

    [DataFact]
    public void TheProjectedVectorIsOrthogonalToTheTargetSubspace()
    {
        using var f = new Fixture();
        using var tau = f.Estimate(new ForgetFineTune(Fixture.Recipe));
        using var projected = f.Estimate(new TargetSpanRemoved(new ForgetFineTune(Fixture.Recipe), 4));
        using var basis = TargetSubspace.Basis(f.Model, f.Head, f.Task, 4, 0).to_type(ScalarType.Float64);
        var keys = VisualWeights.Keys(f.Model);
        using var flat = cat(keys.Select(k => projected[k].flatten()).ToList(), 0).to_type(ScalarType.Float64);
        using var original = cat(keys.Select(k => tau[k].flatten()).ToList(), 0).to_type(ScalarType.Float64);
        double residual = basis.matmul(flat).abs().max().item<double>(), before = basis.matmul(original).abs().max().item<double>();
        Assert.True(residual < 1e-5 * before + 1e-7, $"|V τ'| = {residual:G3} (before: {before:G3})");
        Assert.Equal(4, basis.shape[0]);
    }

    [DataFact]
    public void ABiasFitOnCleanImagesLowersTheirLossAndLeavesTheHeadAsItWas()
    {
        using var f = new Fixture();
        using var bias = BiasRecalibration.Fit(f.Model, f.Head, f.Task);
        Assert.Null(f.Head.Bias);
        double Loss(Tensor? b)
        {
            using var guard = no_grad();
            var ids = f.Task.CleanBudget;
            using var raw = f.Data.Train.Images(ids);
            using var logits = f.Head.Logits(f.Model.EncodeImage(Preprocess.Apply(raw, f.Model.Config.Preprocess)));
            using var shifted = b is null ? logits.clone() : logits + b;
            return F.cross_entropy(shifted, f.Data.Train.LabelTensor(ids)).item<float>();
        }
        Assert.True(Loss(bias) < Loss(null), "the fitted bias does not lower the clean loss");
    }

    [DataFact]
    public void TheRepairTouchesOnlyTheReadoutAndChoosesNoAlpha()
    {
        using var f = new Fixture();
        var before = VisualWeights.Snapshot(f.Model);
        var record = Methods.Run("repair", f.Model, f.Head, f.Task, MethodOptions.Default with { Refit = MethodOptions.Default.Refit with { Recipe = MethodOptions.Default.Refit.Recipe with { Epochs = 1 } } }, null);
        var after = VisualWeights.Snapshot(f.Model);
        Assert.Null(record.Alpha);
        Assert.Contains("no negation", record.Choice);
        foreach (var key in before.Keys)
        {
            bool readout = key == "visual.proj" || key.StartsWith("visual.ln_post.");
            bool changed = !before[key].eq(after[key]).all().item<bool>();
            Assert.True(readout == changed, $"{key}: changed {changed}, readout {readout}");
        }
        VisualWeights.Dispose([before, after]);
    }

    [DataFact]
    public void FtRelabelChoosesALearningRateOnValidation()
    {
        using var f = new Fixture();
        var options = MethodOptions.Default with { Baseline = MethodOptions.Default.Baseline with { LearningRates = [1e-5, 1e-4], Epochs = 1 } };
        var record = Methods.Run("ft-relabel", f.Model, f.Head, f.Task, options, null);
        Assert.Equal("ft-relabel", record.Method);
        Assert.Matches("^lr (1E-05|0.0001):", record.Choice);
        Assert.NotNull(record.Extra);
    }

    [Fact]
    public void PerClassCountsAddUpAndSplitIntoTargetAndOthers()
    {
        long[] labels = [0, 1, 2, 1, 0, 2, 2];
        long[] indices = [0, 1, 2, 3, 4, 5, 6];
        long[] predicted = [0, 1, 1, 1, 2, 2, 0];
        var m = Metrics.Score(labels, indices, predicted, -1, null);
        Assert.Equal(m.CleanAccuracy.Hits, m.PerClass!.Sum(r => r.Hits));
        Assert.Equal(m.CleanAccuracy.Total, m.PerClass!.Sum(r => r.Total));
        Assert.Equal(new Rate(2, 2), m.TargetClass(1));
        Assert.Equal(new Rate(2, 5), m.OtherClasses(1));
    }

    [Fact]
    public void BadEstimatorSettingsAreRefusedByName()
    {
        Assert.Contains("target share", Assert.Throws<TbarException>(() => new CleanConsistency(Consistency.Embeddings, 1, TargetShare: 1).Validate()).Message);
        Assert.Contains("λ", Assert.Throws<TbarException>(() => new CleanConsistency(Consistency.Embeddings, -1).Validate()).Message);
        Assert.Contains("drift weight", Assert.Throws<TbarException>(() => new DriftPenalty(double.NaN).Validate()).Message);
        Assert.Contains("unknown τ estimator 'nope'", Assert.Throws<TbarException>(() => TauEstimators.Get("nope", new TrainOptions())).Message);
        Assert.Contains("linear=1", Assert.Throws<TbarException>(() => TauEstimators.Get("tau:linear=1,consistency=embeddings", new TrainOptions())).Message);
        Assert.Contains("unknown option(s) zeta", Assert.Throws<TbarException>(() => TauEstimators.Get("tau:zeta=1", new TrainOptions())).Message);
    }
}

public class LinearisationGapTests
{
    [DataFact]
    public void TheGapVanishesForASmallStepAndTheLinearModelAtZeroIsTheModel()
    {
        using var model = ClipCheckpoint.Load(TbarRegressionTests.MiniClip());
        using var data = DataSpec.Load("fashion-mnist", 28);
        using var head = ZeroShotHead.Build(model, Tokenizers.For(model, null), data.Train.ClassNames, Captions.Templates);
        var task = UnlearnTask.FromPool(data.Train, data.TrainIndices.Take(3000).ToArray(), Triggers.Parse("badnet:size=3"), 8, 256, 300, 0);
        var hash = VisualWeights.Hash(model);
        using var tau = TauEstimators.Get("plain", new TrainOptions(Epochs: 1, BatchSize: 64, LearningRate: 3e-4, WeightDecay: 0)).Estimate(model, head, task);
        using var small = tau * 1e-3;
        var tiny = Tbar.Analysis.LinearisationGap.Measure(model, head, task, small, 0);
        var full = Tbar.Analysis.LinearisationGap.Measure(model, head, task, tau, 2);
        Assert.Equal(hash, VisualWeights.Hash(model));
        Assert.True(tiny.Gap < 0.05, $"gap of a 1e-3 step {tiny.Gap:G3}");
        Assert.True(full.Gap > tiny.Gap, $"gap of τ {full.Gap:G3} not above the small step's {tiny.Gap:G3}");
        Assert.Null(tiny.GapAtAlpha);
        Assert.NotNull(full.GapAtAlpha);
        var (ca, asr) = task.Evaluate(model, head);
        Assert.True(Math.Abs(tiny.LinearCa.Value - ca.Value) < 0.01, $"linear model at 0: CA {tiny.LinearCa.Value} vs {ca.Value}");
        Assert.True(Math.Abs(tiny.LinearAsr.Value - asr.Value) < 0.01, $"linear model at 0: ASR {tiny.LinearAsr.Value} vs {asr.Value}");
    }
}
