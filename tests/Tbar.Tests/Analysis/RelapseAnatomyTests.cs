using Tbar.Analysis;
using Tbar.Arithmetic;
using Tbar.Attacks;
using Tbar.Data;
using Tbar.Models;
using Tbar.Pipelines;
using Tbar.Tests.Unlearning;
using Tbar.Unlearning;
using static TorchSharp.torch;

namespace Tbar.Tests.Analysis;

/// <summary>`tbar analyze relapse` on the mini-CLIP and 96 random images, with τ a small random vector.</summary>
public class RelapseAnatomyTests
{
    const int Target = 8;

    [Fact]
    public void TheSplitAddsUpAndTheModelIsLeftAsItWas()
    {
        using var model = ClipCheckpoint.Load(TbarRegressionTests.MiniClip());
        using var g = new Generator(5);   // its own generator: the global one is shared with tests running beside this one
        var data = new ImageDataset(randint(0, 256, [96, 1, 28, 28], generator: g, dtype: ScalarType.Byte),
            Enumerable.Range(0, 96).Select(i => (long)(i % 10)).ToArray(), FashionMnist.ClassNames, "random");
        using var head = ZeroShotHead.ForClasses(model, Tokenizers.For(model, null), data.ClassNames);
        var trigger = Triggers.Parse("badnet:size=3");
        var task = UnlearnTask.FromPool(data, data.AllIndices(), trigger, Target, 32, 24, 0);
        using var tau = new TaskVector(model.Visual.named_parameters().ToDictionary(p => "visual." + p.name,
            p => randn(p.parameter.shape, generator: g) * 1e-3));
        var before = VisualWeights.Snapshot(model);

        var result = RelapseAnatomy.Run(model, head, tau, task, data, trigger, Target, [2, 2, 4]);

        Assert.All(before, p => Assert.True(model.Parameters()[p.Key].equal(p.Value).all().item<bool>(), $"{p.Key} not restored"));
        Assert.Equal([0, 2, 4], result.Points.Select(p => p.Alpha));
        Assert.Null(result.Points[0].Undone);
        Assert.Equal(tau.Norm(), result.TauNorm, 4);
        foreach (var p in result.Points)
        {
            // c = ⟨Δ, τ⟩/‖τ‖² and cos = ⟨Δ, τ⟩/(‖Δ‖‖τ‖) describe one inner product.
            Assert.Equal(p.Coefficient * result.TauNorm, p.Cosine * p.DeltaNorm, 6);
            Assert.Equal(1, p.Blocks.Sum(b => b.DeltaEnergyShare), 6);
            // The relapsed numbers are the main table's relapse check at the same weights.
            using var edit = new WeightEdit(model, tau);
            edit.Set(-p.Alpha);
            Assert.Equal(MethodEvaluation.Relapse(model, head, task, new DataSplits(data, data.AllIndices(), data, "random"), trigger, Target),
                p.Relapsed.AttackSuccess!.Value);
            edit.Restore();
        }
        Assert.Equal(result.Points[1].Coefficient / 2, result.Points[1].Undone!.Value, 12);
        VisualWeights.Dispose([before]);
    }
}
