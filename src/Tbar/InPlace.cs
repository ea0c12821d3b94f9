using TorchSharp;
using static TorchSharp.torch;

namespace Tbar;

/// <summary>
/// In-place sums whose scale stays referenced until libtorch has read it. TorchSharp's <c>add_(t)</c> and
/// <c>add_(t, double)</c> make a temporary <see cref="Scalar"/>; once its handle is read nothing refers to it, so a collection
/// that another thread starts during the native call can free it first, and libtorch stops with "Expected false to be true"
/// from <c>Scalar::toFloat</c> (docs/checkpoints.md, "Native runtime note"; <c>AdamOptimizer</c> does the same for its step).
/// </summary>
public static class InPlace
{
    /// <summary><paramref name="target"/> += <paramref name="alpha"/>·<paramref name="other"/> in place; returns the target.</summary>
    public static Tensor Add(Tensor target, Tensor other, double alpha = 1)
    {
        using Scalar scale = alpha;
        return target.add_(other, scale);
    }
}
