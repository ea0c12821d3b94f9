using Tbar.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tbar.Arithmetic;

/// <summary>
/// In-place θ = θ_base + α·τ on a loaded model, for any number of α values, with an exact undo. The base values of the
/// touched parameters are kept once (not a model copy per α); every <see cref="Set"/> starts from them, so results do not
/// drift and <see cref="Restore"/> gives back the original weights bit for bit.
/// </summary>
public sealed class WeightEdit : IDisposable
{
    readonly TaskVector vector;
    readonly Dictionary<string, (Parameter Param, Tensor Base)> touched = new();

    /// <summary>The α currently applied (0 after <see cref="Restore"/>).</summary>
    public double Alpha { get; private set; }

    public WeightEdit(Clip model, TaskVector vector)
    {
        vector.CheckFits(model);
        this.vector = vector;
        var parameters = model.Parameters();
        foreach (var key in vector.Keys) touched[key] = (parameters[key], parameters[key].detach().clone());
    }

    /// <summary>Sets the touched parameters to base + α·τ.</summary>
    public void Set(double alpha)
    {
        using var guard = no_grad();
        foreach (var (key, (param, baseValue)) in touched)
        {
            param.copy_(baseValue);
            if (alpha != 0) param.add_(vector[key], alpha);
        }
        Alpha = alpha;
    }

    /// <summary>Puts the original weights back, bit for bit.</summary>
    public void Restore() => Set(0);

    /// <summary>Keeps the current weights as they are and drops the saved base values.</summary>
    public void Dispose()
    {
        foreach (var (_, baseValue) in touched.Values) baseValue.Dispose();
        touched.Clear();
    }
}
