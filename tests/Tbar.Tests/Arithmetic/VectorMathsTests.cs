using Tbar.Arithmetic;
using Tbar.Unlearning;
using static TorchSharp.torch;

namespace Tbar.Tests.Arithmetic;

public class VectorMathsTests
{
    static TaskVector Vector(long seed, params long[][] shapes)
    {
        var g = new Generator((ulong)seed);
        return new TaskVector(shapes.Select((s, i) => (Key: $"p{i}", Value: randn(s, generator: g))).ToDictionary(p => p.Key, p => p.Value));
    }

    [Fact]
    public void NormIsTheDoubleSumOfSquares()
    {
        using var v = Vector(1, [3, 4], [7]);
        double expected = Math.Sqrt(v.Keys.SelectMany(k => v[k].data<float>().ToArray()).Sum(x => (double)x * x));
        Assert.Equal(expected, v.Norm(), 12);
    }

    [Fact]
    public void CosineIsOneWithItselfMinusOneNegatedAndZeroWithAZeroVector()
    {
        using var v = Vector(2, [5, 2], [3]);
        using var negated = -v;
        using var zero = v * 0.0;
        Assert.Equal(1.0, VectorMaths.Cosine(v, v), 12);
        Assert.Equal(-1.0, VectorMaths.Cosine(v, negated), 12);
        Assert.Equal(0.0, VectorMaths.Cosine(v, zero));
    }

    [Fact]
    public void RemovingTheComponentAlongADirectionLeavesItOrthogonal()
    {
        using var t = Vector(3, [50]);
        using var d = Vector(4, [50]);
        var s = VectorMaths.Sums("p0", t["p0"], d["p0"]);
        using var rest = VectorMaths.RemoveAlong(t["p0"], d["p0"], VectorMaths.Coefficient(s.AB, s.BB));
        Assert.True(Math.Abs(VectorMaths.Dot(rest, d["p0"])) < 1e-5 * Math.Sqrt(s.AA * s.BB));
        Assert.Equal(0.0, VectorMaths.Coefficient(3.0, 0.0));
    }

    [Fact]
    public void DifferentParametersOrShapesAreErrorsNamingTheKey()
    {
        using var a = Vector(5, [2, 3]);
        using var b = Vector(6, [3, 2]);
        using var c = Vector(7, [2, 3], [4]);
        Assert.Contains("'p0'", Assert.Throws<TbarException>(() => VectorMaths.Cosine(a, b)).Message);
        Assert.Contains("'p1'", Assert.Throws<TbarException>(() => VectorMaths.Cosine(a, c)).Message);
    }

    /// <summary>tbar-proj's committed numbers depend on the float32 sums of the first implementation: the helper keeps them bit for bit.</summary>
    [Fact]
    public void ProjectedTbarMatchesItsFirstFloat32FormulaBitForBit()
    {
        using var tau = Vector(8, [64, 33], [17]);
        using var clean = Vector(9, [64, 33], [17]);
        using var projected = ProjectedTbar.Project(tau, clean);
        foreach (var key in tau.Keys)
        {
            var (t, c) = (tau[key], clean[key]);
            double cc = c.square().sum().item<float>();
            using var first = t - c * (t.mul(c).sum().item<float>() / cc);
            Assert.True(first.equal(projected[key]).all().item<bool>(), key);
        }
    }
}
