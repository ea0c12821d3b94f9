using Tbar.Arithmetic;
using Tbar.Attacks;
using Tbar.Data;
using Tbar.Evaluation;
using Tbar.Models;
using Tbar.Training;
using Tbar.Unlearning;
using static TorchSharp.torch;

namespace Tbar.Analysis;

/// <summary>How well the tangent model at θ_b describes an edit along τ, on the task's validation images.</summary>
/// <param name="Gap">‖f(θ_b+τ) − f(θ_b) − J·τ‖_F / ‖f(θ_b+τ) − f(θ_b)‖_F over the clean validation images, f the raw projected embeddings.</param>
/// <param name="GapAtAlpha">The same at the chosen edit −α·τ (null when α is 0).</param>
/// <param name="LinearCa">Validation CA of the linearised model f(θ_b) − α·J·τ (a diagnostic; users get the nonlinear model).</param>
/// <param name="LinearAsr">Validation ASR of the linearised model at −α·τ.</param>
public sealed record LinearisationGapResult(double Gap, double? GapAtAlpha, Rate LinearCa, Rate LinearAsr);

/// <summary>The linearisation gap of a trigger vector, and the linearised model's validation numbers at the chosen α.</summary>
public static class LinearisationGap
{
    /// <summary>Measures at θ_b (the model's weights on entry, and on return, bit for bit).</summary>
    public static LinearisationGapResult Measure(Clip model, ZeroShotHead head, UnlearnTask task, TaskVector tau, double alpha)
    {
        var lin = new Linearisation(model.Visual);
        var delta = lin.Parameters.Select(p => tau["visual." + p.Name]).ToList();
        var preprocess = model.Config.Preprocess;
        var (cleanBase, cleanJvp) = Tangent(lin, delta, task.ValData, task.ValClean, null, preprocess);
        var (trigBase, trigJvp) = Tangent(lin, delta, task.ValTriggered.Data, task.ValTriggered.Indices, task.ValTriggered.Trigger, preprocess);
        using var edit = new WeightEdit(model, tau);
        edit.Set(1);
        using var plus = Embed(model, task.ValData, task.ValClean, preprocess);
        double gap = Gap(plus, cleanBase, cleanJvp, 1);
        double? gapAtAlpha = null;
        if (alpha != 0)
        {
            edit.Set(-alpha);
            using var minus = Embed(model, task.ValData, task.ValClean, preprocess);
            gapAtAlpha = Gap(minus, cleanBase, cleanJvp, -alpha);
        }
        edit.Restore();
        var clean = Predictions(head, cleanBase, cleanJvp, alpha);
        var triggered = Predictions(head, trigBase, trigJvp, alpha);
        var labels = task.ValData.Labels;
        var ca = new Rate(task.ValClean.Where((idx, i) => clean[i] == labels[idx]).LongCount(), task.ValClean.Length);
        var asr = new Rate(triggered.LongCount(p => p == task.Target), triggered.Length);
        foreach (var t in new[] { cleanBase, cleanJvp, trigBase, trigJvp }) t.Dispose();
        return new LinearisationGapResult(gap, gapAtAlpha, ca, asr);
    }

    const int Batch = 128;

    /// <summary>(f(x; θ_b), J·τ) stacked over the images, each (N, E).</summary>
    static (Tensor Base, Tensor Jvp) Tangent(Linearisation lin, List<Tensor> delta, ImageDataset data, long[] ids, ITrigger? trigger,
        PreprocessConfig preprocess)
    {
        var outputs = new List<Tensor>();
        var jvps = new List<Tensor>();
        for (int s = 0; s < ids.Length; s += Batch)
        {
            using var x = Metrics.Inputs(data, ids.Skip(s).Take(Batch).ToArray(), trigger, preprocess);
            var (o, j) = lin.Jvp(x, delta);
            outputs.Add(o);
            jvps.Add(j);
        }
        var result = (cat(outputs, 0), cat(jvps, 0));
        foreach (var t in outputs.Concat(jvps)) t.Dispose();
        return result;
    }

    static Tensor Embed(Clip model, ImageDataset data, long[] ids, PreprocessConfig preprocess)
    {
        using var guard = no_grad();
        model.eval();
        var parts = new List<Tensor>();
        for (int s = 0; s < ids.Length; s += Batch)
        {
            using var x = Metrics.Inputs(data, ids.Skip(s).Take(Batch).ToArray(), null, preprocess);
            parts.Add(model.EncodeImage(x));
        }
        var result = cat(parts, 0);
        foreach (var t in parts) t.Dispose();
        return result;
    }

    static double Gap(Tensor edited, Tensor baseOutput, Tensor jvp, double scale)
    {
        using var scope = NewDisposeScope();
        var change = edited - baseOutput;
        return (change - scale * jvp).norm().item<float>() / change.norm().item<float>();
    }

    static long[] Predictions(ZeroShotHead head, Tensor baseOutput, Tensor jvp, double alpha)
    {
        using var guard = no_grad();
        using var scope = NewDisposeScope();
        return head.Logits(baseOutput - alpha * jvp).argmax(1).data<long>().ToArray();
    }
}
