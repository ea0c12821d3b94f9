using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tbar.Models;

/// <summary>ViT image tower: patch conv → [class; patches] + positions → ln_pre → blocks → ln_post(class) @ proj.</summary>
public sealed class VisionTower : ImageTower
{
    readonly Conv2d conv1;
    readonly Parameter classEmbedding, positionalEmbedding, proj;
    readonly LayerNorm lnPre, lnPost;
    readonly Transformer transformer;

    public VisionTower(VisionConfig c, int embedDim) : base("visual")
    {
        Shape = c;
        conv1 = nn.Conv2d(3, c.Width, c.PatchSize, stride: c.PatchSize, bias: false);
        classEmbedding = new Parameter(zeros(c.Width));
        positionalEmbedding = new Parameter(zeros(c.Grid * c.Grid + 1, c.Width));
        lnPre = nn.LayerNorm(c.Width, c.LayerNormEps);
        transformer = new Transformer(c.Width, c.Layers, c.Heads, c.MlpWidth, c.Act, c.LayerNormEps, causal: false);
        lnPost = nn.LayerNorm(c.Width, c.LayerNormEps);
        proj = new Parameter(zeros(c.Width, embedDim));
        register_module("conv1", conv1);
        register_parameter("class_embedding", classEmbedding);
        register_parameter("positional_embedding", positionalEmbedding);
        register_module("ln_pre", lnPre);
        register_module("transformer", transformer);
        register_module("ln_post", lnPost);
        register_parameter("proj", proj);
    }

    public override ImageTowerConfig Shape { get; }

    /// <summary>(B, 3, S, S) normalised images → (B, embed) projected features, before L2 normalisation.</summary>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        return Readout(Trunk(images)).MoveToOuterDisposeScope();
    }

    /// <summary>(B, 3, S, S) → (B, W): the class token after the blocks, before ln_post.</summary>
    public override Tensor Trunk(Tensor images)
    {
        using var scope = NewDisposeScope();
        var patches = conv1.forward(images).flatten(2).transpose(1, 2);            // (B, grid², W)
        var cls = classEmbedding.view(1, 1, -1).expand(patches.shape[0], 1, -1);   // (B, 1, W)
        var x = lnPre.forward(cat([cls, patches], 1) + positionalEmbedding);
        x = transformer.forward(x);
        return x.select(1, 0).MoveToOuterDisposeScope();                            // (B, W)
    }

    /// <summary>ln_post, then @ proj.</summary>
    public override Tensor Readout(Tensor trunk)
    {
        using var scope = NewDisposeScope();
        return lnPost.forward(trunk).matmul(proj).MoveToOuterDisposeScope();
    }

    public override IReadOnlyCollection<string> ReadoutParameters { get; } = ["ln_post.weight", "ln_post.bias", "proj"];
}
