using Tbar.Models;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Tbar.Unlearning;

/// <summary>
/// A diagnostic, not a defence: after negation, fit one logit bias per class on the clean budget (true labels) and see
/// what comes back. If clean accuracy returns and ASR stays low, negation had only shifted the class readout; if ASR
/// returns with the target class's bias, the trigger feature survived the arithmetic.
/// </summary>
public static class BiasRecalibration
{
    /// <summary>(C) bias minimising cross-entropy of the model's logits (+ bias) on the clean budget; the model is unchanged.</summary>
    public static Tensor Fit(Clip model, ZeroShotHead head, UnlearnTask task, int steps = 300, double lr = 0.05)
    {
        var ids = task.CleanBudget;
        var previous = head.Bias;
        head.Bias = null;
        using var logits = Logits(model, head, task, ids);
        head.Bias = previous;
        using var labels = task.CleanPool.LabelTensor(ids);
        var bias = new TorchSharp.Modules.Parameter(zeros(logits.shape[1]));
        using var optimizer = AdamOptimizer.Plain([bias], lr);
        for (int s = 0; s < steps; s++)
        {
            using var scope = NewDisposeScope();
            optimizer.ZeroGrad();
            F.cross_entropy(logits + bias, labels).backward();
            optimizer.Step();
        }
        using (bias) return bias.detach().clone();
    }

    static Tensor Logits(Clip model, ZeroShotHead head, UnlearnTask task, long[] ids)
    {
        using var guard = no_grad();
        model.eval();
        var parts = new List<Tensor>();
        for (int s = 0; s < ids.Length; s += 256)
        {
            using var raw = task.CleanPool.Images(ids.Skip(s).Take(256).ToArray());
            using var x = Preprocess.Apply(raw, model.Config.Preprocess);
            using var e = model.EncodeImage(x);
            parts.Add(head.Logits(e));
        }
        var result = cat(parts, 0);
        foreach (var p in parts) p.Dispose();
        return result;
    }
}
