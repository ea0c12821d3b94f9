using Tbar.Arithmetic;
using Tbar.Models;
using Tbar.Training;
using static TorchSharp.torch;

namespace Tbar.Unlearning;

/// <summary>
/// Projects τ off the subspace in which clean target-class images move the loss: the gradients of cross-entropy on
/// groups of clean target-class images at θ_b span it, and the top-k right singular vectors of their matrix are removed.
/// One target-class vector moved the frontier by less than a point; a k-dimensional span removes more of the
/// "answer the target class" directions.
/// </summary>
public static class TargetSubspace
{
    /// <summary>τ − V_kᵀ V_k τ over the image tower, V_k the top-k directions; the model is unchanged.</summary>
    public static TaskVector Remove(Clip model, ZeroShotHead head, UnlearnTask task, TaskVector tau, int k, long seed)
    {
        var keys = VisualWeights.Keys(model);
        // In float64: P is in the millions, and float32 leaves a visible residual along the removed directions.
        using var basis32 = Basis(model, head, task, k, seed);
        using var basis = basis32.to_type(ScalarType.Float64);
        using var flat32 = Flatten(keys, key => tau[key]);
        using var flat = flat32.to_type(ScalarType.Float64);
        using var coefficients = basis.matmul(flat);
        using var projected64 = flat - basis.t().matmul(coefficients);
        using var projected = projected64.to_type(ScalarType.Float32);
        var result = Unflatten(keys, tau, projected);
        var metadata = tau.Metadata.Append(new("projected_off", $"top-{k} clean target-class gradient directions")).ToDictionary();
        return new TaskVector(result, metadata);
    }

    /// <summary>(k', P) orthonormal rows: the top directions of per-group target-class gradients (k' ≤ k when there are fewer groups).</summary>
    public static Tensor Basis(Clip model, ZeroShotHead head, UnlearnTask task, int k, long seed)
    {
        var targets = task.CleanBudget.Where(i => task.CleanPool.Labels[i] == task.Target).ToArray();
        if (targets.Length == 0)
            throw new TbarException("the clean budget holds no target-class image: the target-class subspace cannot be estimated");
        var order = Shuffle.Permutation(targets.Length, Shuffle.Generator(seed)).Select(p => targets[p]).ToArray();
        int groups = Math.Min(order.Length, Math.Max(2 * k, 16));
        var rows = Enumerable.Range(0, groups).Select(g => Gradient(model, head, task, order.Where((_, i) => i % groups == g).ToArray())).ToList();
        using var matrix = stack(rows).to_type(ScalarType.Float64);
        foreach (var r in rows) r.Dispose();
        var (_, s, vh) = linalg.svd(matrix, fullMatrices: false);
        s.Dispose();
        using (vh) return vh.narrow(0, 0, Math.Min(k, vh.shape[0])).to_type(ScalarType.Float32);
    }

    static Tensor Gradient(Clip model, ZeroShotHead head, UnlearnTask task, long[] ids)
    {
        var parameters = model.Visual.named_parameters().ToList();
        foreach (var (_, p) in parameters) p.grad?.zero_();
        model.eval();
        using (var scope = NewDisposeScope())
        {
            using var raw = task.CleanPool.Images(ids);
            var loss = FineTune.Loss(model, head, Preprocess.Apply(raw, model.Config.Preprocess), task.CleanPool.LabelTensor(ids));
            loss.backward();
        }
        var flat = cat(parameters.Select(p => p.parameter.grad?.flatten() ?? zeros(p.parameter.numel())).ToList(), 0).detach().clone();
        foreach (var (_, p) in parameters) p.grad?.zero_();
        return flat;
    }

    static Tensor Flatten(IReadOnlyList<string> keys, Func<string, Tensor> get) => cat(keys.Select(k => get(k).flatten()).ToList(), 0);

    static Dictionary<string, Tensor> Unflatten(IReadOnlyList<string> keys, TaskVector shapeFrom, Tensor flat)
    {
        var result = new Dictionary<string, Tensor>();
        long offset = 0;
        foreach (var key in keys)
        {
            var shape = shapeFrom[key].shape;
            long n = shapeFrom[key].numel();
            result[key] = flat.narrow(0, offset, n).reshape(shape).clone();
            offset += n;
        }
        return result;
    }
}
