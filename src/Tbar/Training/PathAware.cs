using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tbar.Training;

/// <summary>
/// Path-aware gradients, after the Path-Aware Minimization of Min et al. (NeurIPS 2024, arXiv 2410.09838): each training
/// step's gradients are taken at θ + r·(θ_anchor − θ), a share <see cref="Share"/> of the way back to an anchor (the
/// backdoored model), and the optimiser then steps from θ itself. A model purified this way must also fit the purifying data
/// part of the way back along the path a re-tune would take towards the backdoor. Min et al. use a fixed length ρ; a share
/// of the current distance has no scale of its own, so one value serves towers of any size (at θ = θ_anchor the step is an
/// ordinary one). The weights are put back bit for bit before the step.
/// </summary>
public sealed class PathAware
{
    readonly IReadOnlyList<Tensor> anchor;

    /// <summary>The share of the way back to the anchor at which gradients are taken (0 &lt; r ≤ 1).</summary>
    public double Share { get; }

    /// <param name="anchor">The anchor's values, one per trained parameter in the optimiser's order (held, not copied).</param>
    /// <param name="share">See <see cref="Share"/>.</param>
    public PathAware(IReadOnlyList<Tensor> anchor, double share)
    {
        if (!(share > 0 && share <= 1)) throw new TbarException($"a path-aware share must be in (0, 1], got {share}");
        this.anchor = anchor;
        Share = share;
    }

    /// <summary>
    /// Runs <paramref name="gradients"/> (which fills the parameters' gradients and returns the loss) at the perturbed point,
    /// then restores <paramref name="parameters"/> exactly; their gradients stay for the optimiser's step.
    /// </summary>
    public double At(IList<Parameter> parameters, Func<double> gradients)
    {
        if (parameters.Count != anchor.Count) throw new TbarException($"path-aware step: {parameters.Count} parameters, anchor has {anchor.Count}");
        var saved = new Tensor[parameters.Count];
        using (no_grad())
            for (int i = 0; i < parameters.Count; i++)
            {
                saved[i] = parameters[i].detach().clone();
                // Disposed at once: left to the training step's scope, these differences would hold a second copy of the
                // tower through the forward and backward passes.
                using var towardsAnchor = anchor[i] - saved[i];
                InPlace.Add(parameters[i], towardsAnchor, Share);
            }
        try
        {
            return gradients();
        }
        finally
        {
            using (no_grad())
                for (int i = 0; i < parameters.Count; i++)
                {
                    parameters[i].copy_(saved[i]);
                    saved[i].Dispose();
                }
        }
    }
}
