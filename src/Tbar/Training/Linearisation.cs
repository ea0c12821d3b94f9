using Tbar.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tbar.Training;

/// <summary>
/// The image tower's first-order expansion at its current weights θ₀: f_lin(x; θ₀ + Δ) = f(x; θ₀) + J(θ₀; x)·Δ, with f the raw
/// projected embedding (before normalisation). TorchSharp has no forward-mode AD, so the Jacobian-vector product is taken
/// exactly by double backward, J·Δ = ∂/∂u ⟨Jᵀu, Δ⟩ (u a dummy cotangent), and the gradient of any loss of f_lin with respect
/// to Δ is one vector-Jacobian product at θ₀. Every pass runs in eval mode (BatchNorm frozen) with plain-maths attention
/// (<see cref="AttentionMath"/>), and none changes the tower's weights. Δ is given per parameter in <see cref="Parameters"/>' order.
/// </summary>
public sealed class Linearisation
{
    readonly ImageTower tower;

    /// <summary>The tower's parameters, the coordinates of Δ, by name without the "visual." prefix.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> Parameters { get; }

    public Linearisation(ImageTower tower)
    {
        this.tower = tower;
        Parameters = tower.named_parameters().Select(p => (p.name, p.parameter)).ToList();
    }

    IList<Tensor> Inputs => Parameters.Select(p => (Tensor)p.Parameter).ToList();

    /// <summary>(f(x; θ₀), J·Δ), both (B, E) and detached, for normalised images (B, 3, S, S).</summary>
    public (Tensor Output, Tensor Jvp) Jvp(Tensor images, IReadOnlyList<Tensor> delta)
    {
        using var scope = NewDisposeScope();
        var (output, jvp) = Pass(images, delta);
        return (output.detach().MoveToOuterDisposeScope(), jvp.detach().MoveToOuterDisposeScope());
    }

    /// <summary>Jᵀ·<paramref name="cotangent"/> per parameter: the gradient of ⟨f(x; θ₀), cotangent⟩.</summary>
    public Tensor[] Vjp(Tensor images, Tensor cotangent)
    {
        using var scope = NewDisposeScope();
        using var plain = AttentionMath.Plain();
        using var mode = EvalMode();
        var output = tower.forward(images);
        var grads = autograd.grad([output], Inputs, [cotangent]);
        return grads.Select(g => g.detach().MoveToOuterDisposeScope()).ToArray();
    }

    /// <summary>
    /// One step of a loss on the linearised outputs: <paramref name="loss"/>(f_lin, f(x; θ₀)) at Δ, and its gradient with respect
    /// to Δ per parameter (a VJP at θ₀ of ∂loss/∂f_lin), from one forward pass.
    /// </summary>
    public (double Loss, Tensor[] Gradients) Step(Tensor images, IReadOnlyList<Tensor> delta, Func<Tensor, Tensor, Tensor> loss)
    {
        using var scope = NewDisposeScope();
        var (output, jvp) = Pass(images, delta, retain: true);
        var baseOutput = output.detach();
        var linear = (baseOutput + jvp.detach()).requires_grad_(true);
        var value = loss(linear, baseOutput);
        var cotangent = autograd.grad([value], [linear])[0];
        var grads = autograd.grad([output], Inputs, [cotangent]);
        double v = value.item<float>();
        return (v, grads.Select(g => g.detach().MoveToOuterDisposeScope()).ToArray());
    }

    (Tensor Output, Tensor Jvp) Pass(Tensor images, IReadOnlyList<Tensor> delta, bool retain = false)
    {
        if (delta.Count != Parameters.Count) throw new TbarException($"a tangent vector needs {Parameters.Count} tensors (got {delta.Count})");
        using var plain = AttentionMath.Plain();
        using var mode = EvalMode();
        var output = tower.forward(images);
        var u = zeros_like(output).requires_grad_(true);
        var transposed = autograd.grad([output], Inputs, [u], retain_graph: true, create_graph: true);
        var dot = transposed.Zip(delta, (g, d) => (g * d.detach()).sum()).Aggregate((a, b) => a + b);
        var jvp = autograd.grad([dot], [u], retain_graph: retain)[0];
        return (output, jvp);
    }

    /// <summary>Eval mode until disposed, then the tower's mode as it was (a nonlinear fine-tune calls in while training).</summary>
    Restorer EvalMode()
    {
        bool training = tower.training;
        tower.eval();
        return new Restorer(() => { if (training) tower.train(); });
    }

    sealed class Restorer(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }
}
