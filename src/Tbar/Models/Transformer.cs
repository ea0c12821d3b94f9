using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Tbar.Models;

/// <summary>Multi-head self-attention with a fused q/k/v projection (PyTorch's in_proj layout).</summary>
sealed class SelfAttention : nn.Module<Tensor, Tensor>
{
    readonly Parameter inProjWeight, inProjBias;
    readonly Linear outProj;
    readonly int heads;
    readonly bool causal;

    public SelfAttention(int width, int heads, bool causal) : base("attn")
    {
        this.heads = heads;
        this.causal = causal;
        inProjWeight = new Parameter(empty(3 * width, width));
        inProjBias = new Parameter(zeros(3 * width));
        outProj = nn.Linear(width, width);
        register_parameter("in_proj_weight", inProjWeight);
        register_parameter("in_proj_bias", inProjBias);
        register_module("out_proj", outProj);
    }

    public override Tensor forward(Tensor x)
    {
        long b = x.shape[0], l = x.shape[1], d = x.shape[2];
        // (B, L, 3D) → (3, B, heads, L, D/heads)
        using var qkv = F.linear(x, inProjWeight, inProjBias).view(b, l, 3, heads, d / heads).permute(2, 0, 3, 1, 4);
        using var attended = AttentionMath.PlainActive ? Plain(qkv[0], qkv[1], qkv[2]) : F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2],
            is_casual: causal);
        using var merged = attended.transpose(1, 2).reshape(b, l, d);
        return outProj.forward(merged);
    }

    /// <summary>softmax(q·kᵀ/√d + causal mask)·v in plain operations: the same values, with a double backward on every device.</summary>
    Tensor Plain(Tensor q, Tensor k, Tensor v)
    {
        using var scope = NewDisposeScope();
        long l = q.shape[2];
        var scores = q.matmul(k.transpose(-2, -1)) / Math.Sqrt(q.shape[3]);
        if (causal) scores = scores.masked_fill(ones(l, l, dtype: ScalarType.Bool, device: q.device).triu(1), double.NegativeInfinity);
        return scores.softmax(-1).matmul(v).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Which attention kernel the transformers use. libtorch's fused scaled_dot_product_attention has no double backward on CPU,
/// which the linearised (tangent) passes need; inside <see cref="Plain"/> attention is computed from plain operations instead.
/// </summary>
public static class AttentionMath
{
    [ThreadStatic] static int plainDepth;

    /// <summary>Whether attention on this thread uses the plain path.</summary>
    public static bool PlainActive => plainDepth > 0;

    /// <summary>Plain attention on this thread until the returned scope is disposed (scopes nest).</summary>
    public static IDisposable Plain()
    {
        plainDepth++;
        return new Scope();
    }

    sealed class Scope : IDisposable
    {
        bool done;

        public void Dispose()
        {
            if (done) return;
            done = true;
            plainDepth--;
        }
    }
}

/// <summary>Pre-norm residual block: x + attn(ln_1(x)), then x + mlp(ln_2(x)).</summary>
sealed class ResidualBlock : nn.Module<Tensor, Tensor>
{
    readonly LayerNorm ln1, ln2;
    readonly SelfAttention attn;
    readonly Linear fc, proj;
    readonly Activation act;

    public ResidualBlock(int width, int heads, int mlpWidth, Activation act, double eps, bool causal) : base("block")
    {
        this.act = act;
        ln1 = nn.LayerNorm(width, eps);
        attn = new SelfAttention(width, heads, causal);
        ln2 = nn.LayerNorm(width, eps);
        fc = nn.Linear(width, mlpWidth);
        proj = nn.Linear(mlpWidth, width);
        register_module("ln_1", ln1);
        register_module("attn", attn);
        register_module("ln_2", ln2);
        var mlp = new MlpNames(fc, proj);
        register_module("mlp", mlp);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = x + attn.forward(ln1.forward(x));
        var y = h + proj.forward(Apply(act, fc.forward(ln2.forward(h))));
        return y.MoveToOuterDisposeScope();
    }

    internal static Tensor Apply(Activation act, Tensor x) => act switch
    {
        Activation.QuickGelu => x * F.sigmoid(1.702 * x),
        Activation.Gelu => F.gelu(x),
        Activation.GeluTanh => F.gelu(x, GELU.Approximate.tanh),
        _ => throw new ArgumentOutOfRangeException(nameof(act)),
    };

    /// <summary>Holds the MLP's two linears under the names c_fc / c_proj.</summary>
    sealed class MlpNames : nn.Module
    {
        public MlpNames(Linear fc, Linear proj) : base("mlp")
        {
            register_module("c_fc", fc);
            register_module("c_proj", proj);
        }
    }
}

/// <summary>A stack of residual blocks, named resblocks.{i}.</summary>
sealed class Transformer : nn.Module<Tensor, Tensor>
{
    readonly ModuleList<ResidualBlock> blocks = new();

    public Transformer(int width, int layers, int heads, int mlpWidth, Activation act, double eps, bool causal) : base("transformer")
    {
        for (int i = 0; i < layers; i++) blocks.Add(new ResidualBlock(width, heads, mlpWidth, act, eps, causal));
        register_module("resblocks", blocks);
    }

    public override Tensor forward(Tensor x)
    {
        var h = x.alias();
        foreach (var block in blocks)
        {
            var next = block.forward(h);
            h.Dispose();
            h = next;
        }
        return h;
    }
}
