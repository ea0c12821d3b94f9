using System.Diagnostics;
using Tbar.Evaluation;
using Tbar.Models;
using Tbar.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tbar.Unlearning;

/// <summary>Budgets and sweeps of the baselines (same data budget as TBAR: the forget set's size).</summary>
/// <param name="LearningRates">LRs tried, gentlest first; the choice is made on validation.</param>
/// <param name="Epochs">Passes over the budget (FT) or the forget set (GA, with early stopping).</param>
/// <param name="EvalEvery">GA: validation every this many steps.</param>
/// <param name="Rule">The same ASR target and CA floor as TBAR's α rule.</param>
public sealed record BaselineOptions(double[] LearningRates, int Epochs, int EvalEvery, AlphaRule Rule)
{
    public static BaselineOptions Default => new([1e-5, 3e-5, 1e-4, 3e-4], 2, 4, new AlphaRule());
}

/// <summary>Clean fine-tuning (FT) and gradient ascent (GA), sharing TBAR's signature: model, head, task, options in; record out.</summary>
public static class Baselines
{
    /// <summary>FT: fine-tune the image tower on as many clean images as the forget set holds, one run per LR; keep the best.</summary>
    public static UnlearnResult FineTuneClean(Clip model, ZeroShotHead head, UnlearnTask task, BaselineOptions o) =>
        LearningRateSweep("finetune", model, head, task, o, lr =>
            FineTune.Train(model, head, task.CleanBudget.Length, positions => task.CleanBatch(positions, model.Config.Preprocess),
                Defaults.BaselineTraining(o.Epochs, lr)));

    /// <summary>
    /// FT-relabel: the image tower fine-tuned on the clean budget plus the forget images with their true labels (what a
    /// defender who knows the trigger would try first), one run per LR; the same data TBAR-refit's repair gets.
    /// </summary>
    public static UnlearnResult FineTuneRelabel(Clip model, ZeroShotHead head, UnlearnTask task, BaselineOptions o) =>
        LearningRateSweep("ft-relabel", model, head, task, o, lr =>
            FineTune.Train(model, head, task.RelabelledCount, positions => task.RelabelledBatch(positions, model.Config.Preprocess),
                Defaults.BaselineTraining(o.Epochs, lr)));

    /// <summary>The optimiser steps of FT-relabel's run at one LR (every LR of its sweep takes as many).</summary>
    public static int RelabelSteps(UnlearnTask task, BaselineOptions o) =>
        TrainLoop.Steps(task.RelabelledCount, Defaults.BaselineTraining(o.Epochs, 1));

    /// <summary>
    /// FT-relabel cut to <paramref name="steps"/> optimiser steps on the same data (one pass of a cosine schedule over
    /// <paramref name="steps"/> batches; position p of the shuffled pass is relabelled image p mod the data's size), with the
    /// same LR sweep and choice: the relabelling half of a negation-then-relabel method that keeps FT-relabel's step budget.
    /// With <paramref name="path"/>, each step's gradients are path-aware (<see cref="PathAware"/>).
    /// </summary>
    public static UnlearnResult FineTuneRelabelSteps(string name, Clip model, ZeroShotHead head, UnlearnTask task, BaselineOptions o,
        int steps, IProgress<TrainProgress>? progress = null, PathAware? path = null)
    {
        if (steps < 1) throw new TbarException($"{name}: no optimiser steps for the relabelling (got {steps})");
        int n = task.RelabelledCount;
        return LearningRateSweep(name, model, head, task, o, lr =>
        {
            var recipe = Defaults.BaselineTraining(1, lr);
            FineTune.Train(model, head, steps * recipe.BatchSize,
                positions => task.RelabelledBatch(positions.Select(p => p % n).ToArray(), model.Config.Preprocess), recipe, progress, path);
        });
    }

    /// <summary>
    /// One training run per LR from the same start (<paramref name="train"/> trains the model in place at the given LR),
    /// each validated; the run the selection rule prefers is kept, the other snapshots are freed.
    /// </summary>
    public static UnlearnResult LearningRateSweep(string name, Clip model, ZeroShotHead head, UnlearnTask task, BaselineOptions o, Action<double> train)
    {
        task.Validate();
        var clock = Stopwatch.StartNew();
        var start = VisualWeights.Snapshot(model);
        double floor = o.Rule.CaFloor * task.Evaluate(model, head).CleanAccuracy.Value;
        var trials = new List<(double Lr, AlphaPoint Point, Dictionary<string, Tensor> State)>();
        foreach (var lr in o.LearningRates)
        {
            VisualWeights.Restore(model, start);
            train(lr);
            model.eval();
            var (ca, asr) = task.Evaluate(model, head);
            trials.Add((lr, new AlphaPoint(0, ca, asr), VisualWeights.Snapshot(model)));
        }
        var (best, _, reason) = Selection.Pick(trials, t => t.Point.CleanAccuracy.Value, t => t.Point.AttackSuccess.Value, o.Rule.AsrTarget, floor);
        VisualWeights.Restore(model, best.State);
        VisualWeights.Dispose(trials.Select(t => t.State).Append(start));
        var sweep = trials.Select(t => new LrTrial(t.Lr, t.Point.CleanAccuracy.Value, t.Point.AttackSuccess.Value)).ToList();
        return new UnlearnResult(name, null, $"lr {best.Lr:G3}: {reason}", best.Point, null, clock.Elapsed.TotalSeconds, sweep);
    }

    /// <summary>
    /// GA: raise the forget set's target-label loss, validating every few steps (early stopping); one run per LR. Only the
    /// weights of the best point so far are kept: the selection rule is a fixed preference order, so picking between the
    /// running best and each new point gives the same choice as picking over all points at the end.
    /// </summary>
    public static UnlearnResult GradientAscent(Clip model, ZeroShotHead head, UnlearnTask task, BaselineOptions o)
    {
        task.Validate();
        var clock = Stopwatch.StartNew();
        var start = VisualWeights.Snapshot(model);
        double floor = o.Rule.CaFloor * task.Evaluate(model, head).CleanAccuracy.Value;
        var points = new List<(double Lr, int Step, AlphaPoint Point)>();
        (double Lr, int Step, AlphaPoint Point)? best = null;
        Dictionary<string, Tensor>? bestState = null;
        void Consider(double lr, int step, AlphaPoint point)
        {
            points.Add((lr, step, point));
            if (best is { } current)
            {
                var (pick, _, _) = Selection.Pick<(double Lr, int Step, AlphaPoint Point)>([current, (lr, step, point)], t => t.Point.CleanAccuracy.Value, t => t.Point.AttackSuccess.Value, o.Rule.AsrTarget, floor);
                if (pick == current) return;
            }
            best = (lr, step, point);
            if (bestState != null) VisualWeights.Dispose([bestState]);
            bestState = VisualWeights.Snapshot(model);
        }
        foreach (var lr in o.LearningRates)
        {
            VisualWeights.Restore(model, start);
            AscentRun(model, head, task, o, lr, floor, Consider);
        }
        var (chosen, _, reason) = Selection.Pick(points, t => t.Point.CleanAccuracy.Value, t => t.Point.AttackSuccess.Value, o.Rule.AsrTarget, floor);
        if (best == null || chosen != best.Value) throw new InvalidOperationException("running best and final pick disagree");
        VisualWeights.Restore(model, bestState!);
        VisualWeights.Dispose([bestState!, start]);
        var trace = points.Select(t => new AscentPoint(t.Lr, t.Step, t.Point.CleanAccuracy.Value, t.Point.AttackSuccess.Value)).ToList();
        return new UnlearnResult("ga", null, $"lr {chosen.Lr:G3}, step {chosen.Step}: {reason}", chosen.Point, null, clock.Elapsed.TotalSeconds, trace);
    }

    static void AscentRun(Clip model, ZeroShotHead head, UnlearnTask task, BaselineOptions o, double lr, double floor, Action<double, int, AlphaPoint> consider)
    {
        var parameters = model.Visual.parameters().ToList();
        using var optimizer = AdamOptimizer.W(parameters, lr, 0);
        var rng = new Random(Defaults.AscentSeed);
        int step = 0, n = task.Forget.Indices.Length;
        for (int epoch = 0; epoch < o.Epochs; epoch++)
        {
            var order = Shuffle.Permutation(n, rng);
            for (int b = 0; b < n; b += 64, step++)
            {
                AscentStep(model, head, task, optimizer, parameters, order[b..Math.Min(n, b + 64)]);
                if ((step + 1) % o.EvalEvery != 0) continue;
                var (ca, asr) = task.Evaluate(model, head);
                consider(lr, step + 1, new AlphaPoint(0, ca, asr));
                // Early stopping: the backdoor is gone, or clean accuracy has fallen through the floor.
                if (asr.Value <= o.Rule.AsrTarget || ca.Value < floor) return;
            }
        }
    }

    static void AscentStep(Clip model, ZeroShotHead head, UnlearnTask task, AdamOptimizer optimizer, List<Parameter> parameters,
        long[] positions)
    {
        using var scope = NewDisposeScope();
        model.train();
        var (images, labels) = task.ForgetBatch(positions, model.Config.Preprocess);
        optimizer.ZeroGrad();
        FineTune.Gradients(model, head, images, labels, parameters);
        // Ascent: the gradient of −CE is the exact negation of CE's.
        foreach (var p in parameters) p.grad?.neg_();
        nn.utils.clip_grad_norm_(parameters, 1.0);
        optimizer.Step();
        model.eval();
    }
}
