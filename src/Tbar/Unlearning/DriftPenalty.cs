using Tbar.Models;
using Tbar.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tbar.Unlearning;

/// <summary>
/// The tangent-space drift penalty, a piece of a fine-tune objective: λ · mean_i ‖J(θ_b; x_i)·(θ − θ_b)‖² / mean_i ‖f(x_i; θ_b)‖²
/// over the clean images matched to each forget batch, f the raw image embedding. J·(θ − θ_b) is the linearised change of each
/// clean image's embedding, so the penalty is the principled, linear-regime form of the embedding-consistency penalty; dividing
/// by the embeddings' own energy makes λ a relative weight, the same on every tower.
/// </summary>
/// <param name="Lambda">Weight, e.g. 10.</param>
public sealed record DriftPenalty(double Lambda)
{
    /// <summary>E.g. "drift λ=10".</summary>
    public string Describe() => $"drift λ={Lambda:G3}";

    /// <summary>Throws naming the bad field.</summary>
    public void Validate()
    {
        if (!(Lambda >= 0) || double.IsInfinity(Lambda)) throw new TbarException($"drift weight λ must be finite and ≥ 0 (got {Lambda})");
    }

    /// <summary>The penalty of linearised clean outputs <paramref name="linear"/> against θ_b's <paramref name="baseOutput"/>, both (B, E).</summary>
    public Tensor Loss(Tensor linear, Tensor baseOutput)
    {
        using var scope = NewDisposeScope();
        var drift = (linear - baseOutput).square().sum(1).mean();
        return (Lambda * drift / baseOutput.square().sum(1).mean()).MoveToOuterDisposeScope();
    }

    /// <summary>The penalty inside a fine-tune of the model itself (θ moves; J is taken at θ_b, which is held here).</summary>
    internal Run Start(Clip model, CleanSet clean) => new(this, model, clean);

    /// <summary>The penalty during one nonlinear fine-tune: θ_b kept, gradients at θ_b for the current θ − θ_b.</summary>
    public sealed class Run : IDisposable
    {
        readonly DriftPenalty penalty;
        readonly Clip model;
        readonly CleanSet clean;
        readonly Linearisation linearisation;
        readonly Tensor[] start;
        double lastLoss;

        internal Run(DriftPenalty penalty, Clip model, CleanSet clean)
        {
            (this.penalty, this.model, this.clean) = (penalty, model, clean);
            linearisation = new Linearisation(model.Visual);
            start = linearisation.Parameters.Select(p => p.Parameter.detach().clone()).ToArray();
        }

        /// <summary>The penalty's gradient per tower parameter for the clean images matched to a forget batch.</summary>
        public Tensor[] Gradients(long[] forgetPositions)
        {
            var (images, _) = clean.Batch(forgetPositions, model.Config.Preprocess);
            using (images)
            {
                var current = linearisation.Parameters.Select(p => p.Parameter.detach().clone()).ToArray();
                var delta = current.Zip(start, (c, s) => c - s).ToArray();
                Copy(start);
                try
                {
                    (lastLoss, var grads) = linearisation.Step(images, delta, penalty.Loss);
                    return grads;
                }
                finally
                {
                    Copy(current);
                    foreach (var t in current.Concat(delta)) t.Dispose();
                }
            }
        }

        /// <summary>Adds <paramref name="grads"/> to the gradients of the trained parameters; returns the penalty's value.</summary>
        public double AddTo(IReadOnlyList<(string name, Parameter parameter)> trained, Tensor[] grads)
        {
            var byName = linearisation.Parameters.Select((p, i) => (p.Name, i)).ToDictionary(p => p.Name, p => grads[p.i]);
            using var guard = no_grad();
            foreach (var (name, p) in trained)
                if (p.grad is { } g) InPlace.Add(g, byName[name]);
                else p.grad = byName[name].clone();
            foreach (var g in grads) g.Dispose();
            return lastLoss;
        }

        void Copy(Tensor[] values)
        {
            using var guard = no_grad();
            for (int i = 0; i < values.Length; i++) linearisation.Parameters[i].Parameter.copy_(values[i]);
        }

        public void Dispose()
        {
            foreach (var t in start) t.Dispose();
        }
    }
}
