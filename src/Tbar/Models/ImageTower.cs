using static TorchSharp.torch;

namespace Tbar.Models;

/// <summary>
/// The shape of an image tower. Each architecture (ViT, ResNet) is one derived record; the rest of the library sees only
/// this: the input side, the names of the tensors it stores, a one-line summary, and how to build the tower.
/// </summary>
/// <param name="ImageSize">Input side in pixels, e.g. 224.</param>
public abstract record ImageTowerConfig(int ImageSize)
{
    /// <summary>Short architecture name written into checkpoints ("vit", "resnet").</summary>
    public abstract string Kind { get; }

    /// <summary>One line naming the shape, e.g. "vit image 28 patch 7 width 128 layers 4" (scan calibrations compare it).</summary>
    public abstract string Summary { get; }

    /// <summary>Stored tensors (parameters, then persistent buffers) without the "visual." prefix, in registration order.</summary>
    public abstract IEnumerable<string> TensorNames();

    /// <summary>A tower of this shape projecting to <paramref name="embedDim"/>, weights zero or unset.</summary>
    public abstract ImageTower Build(int embedDim);

    /// <summary>
    /// A lower bound on this tower's parameter count when it projects to <paramref name="embedDim"/>, in 64-bit arithmetic
    /// (see <see cref="ClipConfig.MinimumParameters"/>); 0 for a shape fixed by Tbar's own config.
    /// </summary>
    public virtual long ParameterLowerBound(int embedDim) => 0;

    /// <summary>Throws naming <paramref name="source"/> when the shape is not buildable.</summary>
    public abstract void Validate(string source);
}

/// <summary>
/// An image tower: (B, 3, S, S) normalised images → (B, embed) projected features, before L2 normalisation. A TorchSharp
/// module, so fine-tuning, task vectors and weight edits work on its named parameters whatever the architecture.
/// </summary>
public abstract class ImageTower : nn.Module<Tensor, Tensor>
{
    protected ImageTower(string name) : base(name) { }

    /// <summary>The shape this tower was built from.</summary>
    public abstract ImageTowerConfig Shape { get; }

    /// <summary>
    /// (B, 3, S, S) normalised images → (B, W): what the readout layers take (ViT: the class token after the blocks, before
    /// ln_post; ResNet: the pooled features). <c>forward(x)</c> is exactly <c>Readout(Trunk(x))</c>.
    /// </summary>
    public abstract Tensor Trunk(Tensor images);

    /// <summary>(B, W) trunk features → (B, embed): the readout layers alone.</summary>
    public abstract Tensor Readout(Tensor trunk);

    /// <summary>Names (without "visual.") of the readout layers' parameters: what a change confined to the readout touches.</summary>
    public abstract IReadOnlyCollection<string> ReadoutParameters { get; }
}
