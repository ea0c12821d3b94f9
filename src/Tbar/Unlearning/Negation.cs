using Tbar.Arithmetic;
using Tbar.Evaluation;
using Tbar.Models;
using static TorchSharp.torch;

namespace Tbar.Unlearning;

/// <summary>
/// "Negate τ, then choose α": the one place that sweeps θ_b + Σ cᵢ(α)·τᵢ on validation under an α rule, by the search the rule
/// names (<see cref="AlphaSweep.Search"/>), and the explicit call that then writes the chosen edit into the model.
/// </summary>
public static class Negation
{
    /// <summary>
    /// The rule's α for θ_b − α·τ on <paramref name="task"/>'s validation split. The model is back at θ_b afterwards; write the
    /// choice with <see cref="Apply(Clip, TaskVector, double)"/>. <paramref name="atAlpha"/> runs after each edit, before the
    /// evaluation (e.g. a re-fit).
    /// </summary>
    public static AlphaChoice Choose(Clip model, ZeroShotHead head, UnlearnTask task, TaskVector tau, AlphaRule rule,
        Action<double>? atAlpha = null) =>
        Choose(model, [tau], a => [-a], a => task.Point(model, head, a), a => task.Look(model, head, a, rule.LookSize), rule, atAlpha);

    /// <summary>
    /// The general form: the edit θ_b + Σ cᵢ(α)·τᵢ with <paramref name="coefficients"/>(α), judged by <paramref name="point"/>
    /// (full validation) and <paramref name="look"/> (the screened search's cheap look). The model is back at θ_b afterwards.
    /// </summary>
    public static AlphaChoice Choose(Clip model, TaskVector[] vectors, Func<double, double[]> coefficients, Func<double, AlphaPoint> point,
        Func<double, AlphaLook> look, AlphaRule rule, Action<double>? atAlpha = null)
    {
        using var edit = new WeightEdit(model, vectors);
        void Set(double alpha)
        {
            edit.Set(coefficients(alpha));
            atAlpha?.Invoke(alpha);
        }
        var choice = AlphaSweep.Search(alpha => { Set(alpha); return point(alpha); }, alpha => { Set(alpha); return look(alpha); }, rule);
        edit.Restore();
        return choice;
    }

    /// <summary>Writes θ + Σ cᵢ·τᵢ into the model (the same operations, in the same order, as the sweep's edit from θ).</summary>
    public static void Apply(Clip model, TaskVector[] vectors, double[] coefficients)
    {
        if (coefficients.Length != vectors.Length) throw new TbarException($"{vectors.Length} vectors got {coefficients.Length} coefficients");
        foreach (var v in vectors) v.CheckFits(model);
        var parameters = model.Parameters();
        using var guard = no_grad();
        foreach (var key in vectors.SelectMany(v => v.Keys).Distinct())
            for (int i = 0; i < vectors.Length; i++)
                if (coefficients[i] != 0 && vectors[i].Keys.Contains(key)) InPlace.Add(parameters[key], vectors[i][key], coefficients[i]);
    }

    /// <summary>θ_b − α·τ written into the model.</summary>
    public static void Apply(Clip model, TaskVector tau, double alpha) => Apply(model, [tau], [-alpha]);
}
