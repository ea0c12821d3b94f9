using Tbar.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tbar.Tests.Training;

/// <summary>Path-aware gradients: taken part of the way back to the anchor, and the weights given back bit for bit.</summary>
public sealed class PathAwareTests
{
    // A quadratic loss ½‖Aθ − b‖² whose gradient at any point is known in closed form: Aᵀ(Aθ − b).
    static readonly Tensor A = tensor(new float[] { 2, -1, 0.5f, 3, 1, -2 }).reshape(3, 2), B = tensor(new float[] { 1, 0, -1 });

    static double Gradients(Parameter p)
    {
        using var loss = (A.matmul(p) - B).pow(2).sum() * 0.5;
        loss.backward();
        return loss.item<float>();
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(1.0)]
    public void GradientsAreTakenAShareOfTheWayBackAndTheWeightsComeBackExactly(double share)
    {
        var p = new Parameter(tensor(new float[] { 0.3f, -0.7f }));
        var anchor = tensor(new float[] { 1.1f, 0.4f });
        var before = p.detach().clone();
        var path = new PathAware([anchor], share);
        path.At([p], () => Gradients(p));
        Assert.True(p.detach().equal(before).all().item<bool>(), "weights not restored bit for bit");
        var at = before + (anchor - before) * share;
        var expected = A.t().matmul(A.matmul(at) - B);
        Assert.True(p.grad!.allclose(expected, rtol: 1e-5, atol: 1e-6), "gradient not taken at the share of the way back");
        // The ordinary gradient at θ differs, so the test can tell the two apart.
        var plain = A.t().matmul(A.matmul(before) - B);
        Assert.False(p.grad.allclose(plain, rtol: 1e-3, atol: 1e-4));
    }

    [Fact]
    public void AtTheAnchorTheStepIsAnOrdinaryOne()
    {
        var p = new Parameter(tensor(new float[] { 0.3f, -0.7f }));
        new PathAware([p.detach().clone()], 0.5).At([p], () => Gradients(p));
        var plain = A.t().matmul(A.matmul(p.detach()) - B);
        Assert.True(p.grad!.equal(plain).all().item<bool>());
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void AShareOutsideZeroToOneIsRefused(double share) =>
        Assert.Throws<TbarException>(() => new PathAware([zeros(2)], share));
}
