using System.Diagnostics;
using Tbar.Arithmetic;
using Tbar.Evaluation;
using Tbar.Models;
using Tbar.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tbar.Unlearning;

/// <summary>Settings of the repair step after negation.</summary>
/// <param name="Recipe">Training of the repaired layers, e.g. 2 epochs at 3e-3.</param>
/// <param name="Layers">Image-tower parameter name prefixes that are re-fitted (the output projection and its LayerNorm).</param>
/// <param name="Grid">The α values tried, each with its own repair (the fixed-grid strategy of <see cref="AlphaSweep"/>).</param>
public sealed record RefitOptions(TrainOptions Recipe, string[] Layers, double[] Grid)
{
    public static RefitOptions Default => new(new TrainOptions(Epochs: 2, BatchSize: 64, LearningRate: 3e-3, WeightDecay: 0), ["proj", "ln_post."],
        [0, 0.5, 1, 1.5, 2, 2.5, 3]);
}

/// <summary>
/// TBAR followed by a repair of the last layers: after θ_b − α·τ, only the output projection (and ln_post) is re-fitted on
/// the clean budget plus the forget images with their true labels (the defender made them from its own clean images, so
/// it knows them). On the small model, plain negation removes the backdoor together with much of the target class; the
/// repair brings the class back without re-opening the trigger path. α is chosen by the same rule, each α with its own
/// repair, on validation only.
/// </summary>
public static class TbarRefit
{
    public static UnlearnResult Run(Clip model, ZeroShotHead head, UnlearnTask task, TbarOptions o, RefitOptions refit,
        IProgress<TrainProgress>? progress = null)
    {
        task.Validate();
        var clock = Stopwatch.StartNew();
        var tau = FineTuneVectors.TriggerVector(model, head, task, o.Recipe, progress);
        var choice = ChooseAlpha(model, head, task, tau, o.Rule, refit);
        return new UnlearnResult("tbar-refit", choice, choice.Reason, choice.Point, tau, clock.Elapsed.TotalSeconds);
    }

    static AlphaChoice ChooseAlpha(Clip model, ZeroShotHead head, UnlearnTask task, TaskVector tau, AlphaRule rule, RefitOptions refit)
    {
        using var edit = new WeightEdit(model, tau);
        AlphaPoint At(double alpha)
        {
            edit.Set(-alpha);
            Repair(model, head, task, refit);
            var (ca, asr) = task.Evaluate(model, head);
            return new AlphaPoint(alpha, ca, asr);
        }
        edit.Set(0);
        var (baseCa, baseAsr) = task.Evaluate(model, head);
        // The repaired model's ASR no longer falls monotonically with α, so a small grid is evaluated whole.
        var choice = AlphaSweep.ChooseOnGrid(new AlphaPoint(0, baseCa, baseAsr), At, refit.Grid, rule, " with repair");
        if (baseAsr.Value > rule.AsrTarget) At(choice.Alpha);
        return choice;
    }

    /// <summary>
    /// The repair alone, without negation (method <c>repair</c>): what tbar-refit reduces to when its rule picks α = 0,
    /// named for what it is.
    /// </summary>
    public static UnlearnResult RepairOnly(Clip model, ZeroShotHead head, UnlearnTask task, RefitOptions refit)
    {
        task.Validate();
        var clock = Stopwatch.StartNew();
        Repair(model, head, task, refit);
        var point = task.Point(model, head, 0);
        string choice = $"last-layer repair ({string.Join(", ", refit.Layers)}) on the clean budget " +
            "and the forget images with their true labels, no negation";
        return new UnlearnResult("repair", null, choice, point, null, clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Re-fits the repair layers on clean images and forget images with their true labels. The other layers are held out of
    /// autograd meanwhile, so the backward pass stops at the repaired layers instead of running through the whole tower.
    /// </summary>
    public static void Repair(Clip model, ZeroShotHead head, UnlearnTask task, RefitOptions refit) => Repair(model, head, task, refit, true);

    /// <summary>As above; <paramref name="onTrunk"/> = false forces the whole-image path (tests compare the two).</summary>
    internal static void Repair(Clip model, ZeroShotHead head, UnlearnTask task, RefitOptions refit, bool onTrunk)
    {
        var named = model.Visual.named_parameters().ToList();
        bool Refitted(string name) => refit.Layers.Any(l => name == l || name.StartsWith(l));
        var refitted = named.Where(p => Refitted(p.name)).ToList();
        var parameters = refitted.Select(p => p.parameter).ToList();
        if (onTrunk && refitted.Select(p => p.name).ToHashSet().SetEquals(model.Visual.ReadoutParameters))
        {
            RepairReadout(model, head, task, refit, parameters);
            return;
        }
        var held = named.Where(p => !Refitted(p.name) && p.parameter.requires_grad).Select(p => p.parameter).ToList();
        foreach (var p in held) p.requires_grad_(false);
        try
        {
            TrainLoop.RunWithGradients(parameters, task.RelabelledCount, refit.Recipe, positions =>
            {
                var (images, labels) = task.RelabelledBatch(positions, model.Config.Preprocess);
                return FineTune.Gradients(model, head, images, labels, parameters);
            });
        }
        finally
        {
            foreach (var p in held) p.requires_grad_(true);
        }
        model.eval();
    }

    /// <summary>
    /// The repair when it re-fits exactly the tower's readout: nothing below the readout changes during it, so the trunk
    /// features of the clean budget and the forget images are computed once (not once per epoch) and the readout is
    /// trained on them, with the same batches, the same loss and the same optimiser as the whole-image path.
    /// </summary>
    static void RepairReadout(Clip model, ZeroShotHead head, UnlearnTask task, RefitOptions refit, List<Parameter> parameters)
    {
        var preprocess = model.Config.Preprocess;
        int clean = task.CleanBudget.Length, forget = task.Forget.Indices.Length;
        var (cleanFeatures, cleanLabels) = TrunkOf(model, clean, p => task.CleanBatch(p, preprocess));
        var (forgetFeatures, trueLabels) = TrunkOf(model, forget, p => task.ForgetBatchTrueLabels(p, preprocess));
        using var features = cat([cleanFeatures, forgetFeatures], 0);
        using var labels = cat([cleanLabels, trueLabels], 0);
        foreach (var t in new[] { cleanFeatures, cleanLabels, forgetFeatures, trueLabels }) t.Dispose();
        model.train();
        TrainLoop.RunWithGradients(parameters, clean + forget, refit.Recipe, positions =>
        {
            using var index = tensor(positions);
            return FineTune.Gradients(model.Visual.Readout, head, features.index_select(0, index), labels.index_select(0, index), parameters);
        });
        model.eval();
    }

    /// <summary>Trunk features (no gradient) and labels of <paramref name="count"/> images, 256 at a time.</summary>
    static (Tensor Features, Tensor Labels) TrunkOf(Clip model, int count, Func<long[], (Tensor Images, Tensor Labels)> batch)
    {
        model.eval();
        var features = new List<Tensor>();
        var labels = new List<Tensor>();
        for (int start = 0; start < count; start += 256)
        {
            var positions = Enumerable.Range(start, Math.Min(256, count - start)).Select(i => (long)i).ToArray();
            var (images, y) = batch(positions);
            using (images) features.Add(Embeddings.EncodeImages(x => model.Visual.Trunk(x).contiguous(), images));
            labels.Add(y);
        }
        var result = (cat(features, 0), cat(labels, 0));
        foreach (var t in features.Concat(labels)) t.Dispose();
        return result;
    }
}
