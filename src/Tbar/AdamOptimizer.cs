using TorchSharp;
using static TorchSharp.torch;

namespace Tbar;

/// <summary>
/// Adam and AdamW (β = 0.9, 0.999, ε = 1e-8): the arithmetic of TorchSharp's <c>optim.Adam</c> and <c>optim.AdamW</c>, in
/// the same order, so the weights are the same bits (<c>AdamOptimizerTests</c>), with every <see cref="Scalar"/> a step hands to
/// libtorch held until the call that reads it has returned. TorchSharp's own step passes temporaries (<c>alpha: 1 − β₁</c>):
/// once its managed code has read a temporary's handle nothing refers to it, so a collection that another thread starts
/// during the native call can run the finaliser, which frees the value before libtorch reads it. libtorch then stops with
/// "Expected false to be true" from <c>Scalar::toFloat</c>, or reads whatever took the memory's place. With a thread that
/// forces collections, TorchSharp's AdamW failed 388 of 514 steps over 200 parameters; this one fails none (<c>AdamOptimizerTests</c>).
/// Every optimiser in Tbar is one of these.
/// </summary>
public sealed class AdamOptimizer : IDisposable
{
    const double Beta1 = 0.9, Beta2 = 0.999, Epsilon = 1e-8;

    readonly Tensor[] parameters, firstMoments, secondMoments;
    // Holds each step's denominator √v̂ + ε in turn, one parameter after another: a fresh tensor per parameter and step would
    // be a fresh malloc block each time, which under the lean allocator (NativeStartup.LeanSettings) is page-faulted afresh.
    readonly Tensor? scratch;
    readonly long[] steps;
    readonly bool decoupled;

    AdamOptimizer(IEnumerable<Tensor> parameters, double learningRate, double weightDecay, bool decoupled)
    {
        if (!(learningRate >= 0) || !double.IsFinite(learningRate)) throw new ArgumentOutOfRangeException(nameof(learningRate));
        if (!(weightDecay >= 0) || !double.IsFinite(weightDecay)) throw new ArgumentOutOfRangeException(nameof(weightDecay));
        this.parameters = parameters.ToArray();
        (LearningRate, WeightDecay, this.decoupled) = (learningRate, weightDecay, decoupled);
        using var guard = no_grad();
        firstMoments = this.parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
        secondMoments = this.parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
        steps = new long[this.parameters.Length];
        long largest = this.parameters.Select(p => p.numel()).DefaultIfEmpty(0).Max();
        var first = this.parameters.FirstOrDefault();
        if (first is not null && this.parameters.All(p => p.dtype == first.dtype && p.device == first.device))
            scratch = empty(largest, dtype: first.dtype, device: first.device).DetachFromDisposeScope();
    }

    /// <summary>AdamW: the weights decay by (1 − lr·<paramref name="weightDecay"/>) at each step, apart from the gradient.</summary>
    public static AdamOptimizer W(IEnumerable<Tensor> parameters, double learningRate, double weightDecay) =>
        new(parameters, learningRate, weightDecay, decoupled: true);

    /// <summary>Adam: <paramref name="weightDecay"/>·θ is added to the gradient (none by default).</summary>
    public static AdamOptimizer Plain(IEnumerable<Tensor> parameters, double learningRate, double weightDecay = 0) =>
        new(parameters, learningRate, weightDecay, decoupled: false);

    /// <summary>The learning rate the next step takes (a schedule sets it before each step).</summary>
    public double LearningRate { get; set; }

    public double WeightDecay { get; }

    /// <summary>Sets every gradient present to zero (as <c>optimizer.zero_grad()</c>).</summary>
    public void ZeroGrad()
    {
        foreach (var p in parameters)
        {
            using var grad = p.grad;
            grad?.zero_();
        }
    }

    /// <summary>One step for every parameter that has a gradient.</summary>
    public void Step()
    {
        using var guard = no_grad();
        using var scope = NewDisposeScope();
        double lr = LearningRate;
        // `using` keeps each Scalar referenced until its Dispose at the end of the block: no finaliser can free it first.
        using Scalar beta1 = Beta1, rest1 = 1 - Beta1, beta2 = Beta2, rest2 = 1 - Beta2, epsilon = Epsilon, one = 1;
        using Scalar decay = 1 - lr * WeightDecay, weightDecay = WeightDecay;
        for (int i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i];
            var grad = p.grad;
            if (grad is null) continue;
            long step = ++steps[i];
            if (decoupled) p.mul_(decay);
            double correction1 = 1 - Math.Pow(Beta1, step), correction2 = 1 - Math.Pow(Beta2, step);
            if (!decoupled && WeightDecay != 0) grad = grad.add(p, alpha: weightDecay);
            firstMoments[i].mul_(beta1).add_(grad, alpha: rest1);
            secondMoments[i].mul_(beta2).addcmul_(grad, grad, value: rest2);
            using Scalar root = Math.Sqrt(correction2), stepSize = -(lr / correction1);
            // add_(ε) alone would pass a temporary Scalar 1 as its scale (TorchSharp's overload): hence the explicit one.
            var v = secondMoments[i];
            var denominator = (scratch is null ? v.sqrt() : scratch.narrow(0, 0, v.numel()).view(v.shape).copy_(v).sqrt_())
                .div_(root).add_(epsilon, one);
            p.addcdiv_(firstMoments[i], denominator, value: stepSize);
        }
    }

    public void Dispose()
    {
        foreach (var t in firstMoments.Concat(secondMoments)) t.Dispose();
        scratch?.Dispose();
    }
}
