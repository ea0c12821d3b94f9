using TorchSharp;
using static TorchSharp.torch;

namespace Tbar.Tests;

public class RuntimeTests
{
    [Fact]
    public void NativeRuntimeLoadsAndAutogradWorks()
    {
        // d/dA sum(A @ A) = (1 1ᵀ) Aᵀ + Aᵀ (1 1ᵀ): checked against that closed form.
        using var a = tensor(new float[] { 1, 2, 3, 4 }, 2, 2).requires_grad_(true);
        using var y = a.matmul(a).sum();
        y.backward();
        using var ones = torch.ones(2, 2);
        using var expected = ones.matmul(a.detach().t()) + a.detach().t().matmul(ones);
        Assert.True(a.grad!.allclose(expected));
        Assert.Equal(new float[] { 7, 11, 9, 13 }, expected.data<float>().ToArray());
    }
}
