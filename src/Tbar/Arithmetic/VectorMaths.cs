using static TorchSharp.torch;

namespace Tbar.Arithmetic;

/// <summary>Per-tensor sums of two vectors over the same parameter: ‖a‖², ‖b‖², ⟨a, b⟩ and the entry count.</summary>
public readonly record struct PairSums(double AA, double BB, double AB, long Count);

/// <summary>
/// Dot products, norms, cosines and projections over task vectors, in float64 (float32 values summed in double).
/// <see cref="DotAsStored"/> is the one exception: a sum in the tensors' own precision, kept where the number feeds a
/// method's result so that committed results stay as they were.
/// </summary>
public static class VectorMaths
{
    /// <summary>⟨a, b⟩ over all entries, in float64.</summary>
    public static double Dot(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return (a.to_type(ScalarType.Float64) * b.to_type(ScalarType.Float64)).sum().item<double>();
    }

    /// <summary>⟨a, b⟩ summed in the tensors' own dtype (float32 for task vectors).</summary>
    public static double DotAsStored(Tensor a, Tensor b)
    {
        using var product = a.mul(b);
        using var sum = product.sum();
        return sum.item<float>();
    }

    /// <summary>‖a‖² ‖b‖² and ⟨a, b⟩ of one parameter's tensors, in float64; shapes must agree.</summary>
    public static PairSums Sums(string key, Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape)) throw new TbarException($"parameter '{key}': the vectors' shapes differ");
        return new PairSums(Dot(a, a), Dot(b, b), Dot(a, b), a.numel());
    }

    /// <summary>Per key, the sums of one parameter's tensors; the two vectors must cover the same parameters.</summary>
    public static Dictionary<string, PairSums> Sums(TaskVector a, TaskVector b)
    {
        var keys = a.Keys.ToList();
        var missing = keys.Except(b.Keys).Concat(b.Keys.Except(keys)).ToList();
        if (missing.Count > 0) throw new TbarException($"the two vectors cover different parameters (e.g. '{missing[0]}')");
        return keys.ToDictionary(k => k, k => Sums(k, a[k], b[k]));
    }

    /// <summary>Euclidean norm of a vector, in float64.</summary>
    public static double Norm(TaskVector v) => Math.Sqrt(v.Keys.Sum(k => Dot(v[k], v[k])));

    /// <summary>cos from ⟨a, b⟩, ‖a‖², ‖b‖²; 0 when either vector is zero.</summary>
    public static double Cosine(double ab, double aa, double bb) => aa == 0 || bb == 0 ? 0 : ab / Math.Sqrt(aa * bb);

    /// <summary>cos(a, b) over the whole vectors, in float64.</summary>
    public static double Cosine(TaskVector a, TaskVector b)
    {
        var sums = Sums(a, b).Values;
        return Cosine(sums.Sum(s => s.AB), sums.Sum(s => s.AA), sums.Sum(s => s.BB));
    }

    /// <summary>The coefficient of the projection onto a direction: ⟨t, d⟩ / ‖d‖², 0 for a zero direction.</summary>
    public static double Coefficient(double td, double dd) => dd > 0 ? td / dd : 0;

    /// <summary>t − coefficient·d, a new tensor.</summary>
    public static Tensor RemoveAlong(Tensor t, Tensor d, double coefficient) => t - coefficient * d;
}
