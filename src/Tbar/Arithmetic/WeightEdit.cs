using Tbar.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tbar.Arithmetic;

/// <summary>
/// In-place θ = θ_base + Σ αᵢ·τᵢ on a loaded model, for any number of α values, with an exact undo. The base values of
/// the touched parameters are kept once (not a model copy per α); every <see cref="Set"/> starts from them, terms with
/// α = 0 are skipped, so results do not drift and <see cref="Restore"/> gives back the original weights bit for bit.
/// </summary>
public sealed class WeightEdit : IDisposable
{
    readonly TaskVector[] vectors;
    readonly Dictionary<string, (Parameter Param, Tensor Base)> touched = new();

    /// <summary>The α of the first vector currently applied (0 after <see cref="Restore"/>).</summary>
    public double Alpha { get; private set; }

    public WeightEdit(Clip model, params TaskVector[] vectors)
    {
        if (vectors.Length == 0) throw new TbarException("a weight edit needs at least one task vector");
        foreach (var v in vectors) v.CheckFits(model);
        this.vectors = vectors;
        var parameters = model.Parameters();
        foreach (var key in vectors.SelectMany(v => v.Keys).Distinct())
            touched[key] = (parameters[key], parameters[key].detach().clone());
    }

    /// <summary>Sets the touched parameters to base + Σ αᵢ·τᵢ (one α per vector, in constructor order).</summary>
    public void Set(params double[] alphas)
    {
        if (alphas.Length != vectors.Length) throw new TbarException($"weight edit over {vectors.Length} vectors got {alphas.Length} α values");
        using var guard = no_grad();
        foreach (var (key, (param, baseValue)) in touched)
        {
            param.copy_(baseValue);
            for (int i = 0; i < vectors.Length; i++)
                if (alphas[i] != 0 && vectors[i].Keys.Contains(key)) param.add_(vectors[i][key], alphas[i]);
        }
        Alpha = alphas[0];
    }

    /// <summary>Puts the original weights back, bit for bit.</summary>
    public void Restore() => Set(new double[vectors.Length]);

    /// <summary>Keeps the current weights as they are and drops the saved base values.</summary>
    public void Dispose()
    {
        foreach (var (_, baseValue) in touched.Values) baseValue.Dispose();
        touched.Clear();
    }
}
