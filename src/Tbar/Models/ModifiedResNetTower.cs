using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Tbar.Models;

/// <summary>
/// OpenAI's ModifiedResNet image tower (<see cref="ModifiedResNetConfig"/>), named as open_clip stores it: stem
/// (conv1-bn1, conv2-bn2, conv3-bn3, ReLU after each, 2×2 average pool) → layer1..layer4 of bottlenecks → attnpool.
/// BatchNorm always uses its stored statistics (<see cref="FrozenBatchNorm"/>), so only scales, shifts, convs and the pool
/// are parameters.
/// </summary>
public sealed class ModifiedResNetTower : ImageTower
{
    readonly ModifiedResNetConfig config;
    readonly Conv2d conv1, conv2, conv3;
    readonly FrozenBatchNorm bn1, bn2, bn3;
    readonly List<Bottleneck> blocks = [];
    readonly AttentionPool attnpool;

    public ModifiedResNetTower(ModifiedResNetConfig c, int embedDim) : base("visual")
    {
        config = c;
        int half = c.Width / 2;
        conv1 = nn.Conv2d(3, half, 3, stride: 2, padding: 1, bias: false);
        conv2 = nn.Conv2d(half, half, 3, padding: 1, bias: false);
        conv3 = nn.Conv2d(half, c.Width, 3, padding: 1, bias: false);
        (bn1, bn2, bn3) = (Norm(half, c), Norm(half, c), Norm(c.Width, c));
        RegisterConvNorms((n, m) => register_module(n, m), [conv1, conv2, conv3], [bn1, bn2, bn3]);
        int inWidth = c.Width;
        for (int s = 0; s < c.Layers.Count; s++)
        {
            var stage = new ModuleList<Bottleneck>();
            for (int b = 0; b < c.Layers[s]; b++)
            {
                var block = new Bottleneck(inWidth, c.StageWidth(s), b == 0 && s > 0 ? 2 : 1, c.HasDownsample(s, b), c);
                stage.Add(block);
                blocks.Add(block);
                inWidth = c.StageWidth(s) * ModifiedResNetConfig.Expansion;
            }
            register_module($"layer{s + 1}", stage);
        }
        attnpool = new AttentionPool(c.Grid, c.FeatureWidth, c.Heads, embedDim);
        register_module("attnpool", attnpool);
    }

    internal static FrozenBatchNorm Norm(int width, ModifiedResNetConfig c) => new(width, c.BatchNormEps, countsBatches: true);

    /// <summary>Registers conv1, bn1, conv2, bn2, ... in open_clip's order (the stem and every bottleneck).</summary>
    internal static void RegisterConvNorms(Action<string, nn.Module> register, Conv2d[] convs, FrozenBatchNorm[] norms)
    {
        for (int i = 0; i < convs.Length; i++)
        {
            register($"conv{i + 1}", convs[i]);
            register($"bn{i + 1}", norms[i]);
        }
    }

    public override ImageTowerConfig Shape => config;

    /// <summary>(B, 3, S, S) normalised images → (B, embed) projected features, before L2 normalisation.</summary>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        return Readout(Trunk(images)).MoveToOuterDisposeScope();
    }

    /// <summary>(B, 3, S, S) → (B, Width·32): the attention pool's output before its c_proj.</summary>
    public override Tensor Trunk(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = F.relu(bn1.forward(conv1.forward(images)));
        x = F.relu(bn2.forward(conv2.forward(x)));
        x = F.avg_pool2d(F.relu(bn3.forward(conv3.forward(x))), 2);
        foreach (var block in blocks) x = block.forward(x);
        return attnpool.Pool(x).MoveToOuterDisposeScope();
    }

    /// <summary>The attention pool's c_proj.</summary>
    public override Tensor Readout(Tensor trunk) => attnpool.Project(trunk);

    public override IReadOnlyCollection<string> ReadoutParameters { get; } = ["attnpool.c_proj.weight", "attnpool.c_proj.bias"];
}

/// <summary>
/// 1×1 conv → 3×3 conv → (average pool when striding) → 1×1 conv to 4× width, BatchNorm after each, ReLU between; added to
/// the input or its downsample (average pool, then 1×1 conv-BN), then ReLU.
/// </summary>
sealed class Bottleneck : nn.Module<Tensor, Tensor>
{
    readonly Conv2d conv1, conv2, conv3;
    readonly FrozenBatchNorm bn1, bn2, bn3;
    readonly Downsample? downsample;
    readonly int stride;

    public Bottleneck(int inWidth, int width, int stride, bool hasDownsample, ModifiedResNetConfig c) : base("bottleneck")
    {
        this.stride = stride;
        int outWidth = width * ModifiedResNetConfig.Expansion;
        conv1 = nn.Conv2d(inWidth, width, 1, bias: false);
        conv2 = nn.Conv2d(width, width, 3, padding: 1, bias: false);
        conv3 = nn.Conv2d(width, outWidth, 1, bias: false);
        (bn1, bn2, bn3) = (ModifiedResNetTower.Norm(width, c), ModifiedResNetTower.Norm(width, c), ModifiedResNetTower.Norm(outWidth, c));
        ModifiedResNetTower.RegisterConvNorms((n, m) => register_module(n, m), [conv1, conv2, conv3], [bn1, bn2, bn3]);
        if (hasDownsample)
        {
            downsample = new Downsample(inWidth, outWidth, stride, c);
            register_module("downsample", downsample);
        }
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = F.relu(bn1.forward(conv1.forward(x)));
        y = F.relu(bn2.forward(conv2.forward(y)));
        if (stride > 1) y = F.avg_pool2d(y, stride);
        y = bn3.forward(conv3.forward(y));
        var skip = downsample != null ? downsample.forward(x) : x;
        return F.relu(y + skip).MoveToOuterDisposeScope();
    }
}

/// <summary>open_clip's downsample branch: an average pool (no weights, its "-1"), then "0" a 1×1 conv and "1" a BatchNorm.</summary>
sealed class Downsample : nn.Module<Tensor, Tensor>
{
    readonly Conv2d conv;
    readonly FrozenBatchNorm bn;
    readonly int stride;

    public Downsample(int inWidth, int outWidth, int stride, ModifiedResNetConfig c) : base("downsample")
    {
        this.stride = stride;
        conv = nn.Conv2d(inWidth, outWidth, 1, bias: false);
        bn = ModifiedResNetTower.Norm(outWidth, c);
        register_module("0", conv);
        register_module("1", bn);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var pooled = stride > 1 ? F.avg_pool2d(x, stride) : x;
        return bn.forward(conv.forward(pooled)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Attention pooling: the grid's mean joins the grid as a first token, positions are added, and that first token attends
/// (multi-head, separate q/k/v projections) over all tokens; c_proj maps the result to the embedding.
/// </summary>
sealed class AttentionPool : nn.Module
{
    readonly Parameter positionalEmbedding;
    readonly Linear kProj, qProj, vProj, cProj;
    readonly int heads;

    public AttentionPool(int grid, int width, int heads, int embedDim) : base("attnpool")
    {
        this.heads = heads;
        positionalEmbedding = new Parameter(zeros(grid * grid + 1, width));
        (kProj, qProj, vProj, cProj) = (nn.Linear(width, width), nn.Linear(width, width), nn.Linear(width, width), nn.Linear(width, embedDim));
        register_parameter("positional_embedding", positionalEmbedding);
        register_module("k_proj", kProj);
        register_module("q_proj", qProj);
        register_module("v_proj", vProj);
        register_module("c_proj", cProj);
    }

    /// <summary>(B, C, H, W) feature map → (B, C): the mean token's attention output, before c_proj.</summary>
    public Tensor Pool(Tensor map)
    {
        using var scope = NewDisposeScope();
        long b = map.shape[0], c = map.shape[1];
        var tokens = map.flatten(2).transpose(1, 2);                                   // (B, HW, C)
        var x = cat([tokens.mean([1], keepdim: true), tokens], 1) + positionalEmbedding; // (B, HW+1, C)
        long n = x.shape[1], d = c / heads;
        var q = qProj.forward(x.narrow(1, 0, 1)).view(b, 1, heads, d).transpose(1, 2);   // (B, heads, 1, d)
        var k = kProj.forward(x).view(b, n, heads, d).transpose(1, 2);                   // (B, heads, N, d)
        var v = vProj.forward(x).view(b, n, heads, d).transpose(1, 2);
        var attended = F.scaled_dot_product_attention(q, k, v);                         // (B, heads, 1, d)
        return attended.transpose(1, 2).reshape(b, c).MoveToOuterDisposeScope();
    }

    /// <summary>(B, C) → (B, embed).</summary>
    public Tensor Project(Tensor pooled) => cProj.forward(pooled);
}
