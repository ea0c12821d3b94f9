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
        Activation.QuickGelu => QuickGelu.Apply(x),
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

/// <summary>
/// QuickGELU, x·σ(1.702·x). Written out, autograd keeps x, σ(1.702·x) and the product for the backward pass: in a
/// ViT-B/32 that is three of the MLP's (tokens, 3072) tensors per block, a third of a fine-tune step's activations. Where
/// a plain backward pass is all that is needed, it runs as one autograd function that keeps only x and recomputes σ in
/// its backward pass, with the same operations, in the same order, as autograd's own pass over the written-out form: the
/// values and gradients are the same bits (<c>MemoryTests</c>). Under <see cref="AttentionMath.Plain()"/>, which the
/// passes that differentiate twice turn on, the written-out form is used.
/// </summary>
static class QuickGelu
{
    // Made once and kept: a Scalar made for each call (as `1.702 * x` makes one) is freed by its finalizer, which the GC
    // may run while the native call that uses it is still going on another thread (AdamOptimizer).
    static readonly TorchSharp.Scalar Slope = 1.702, One = 1.0;

    /// <summary>x·σ(1.702·x), through the lean autograd function when x needs a gradient.</summary>
    public static Tensor Apply(Tensor x)
    {
        if (!x.requires_grad || !is_grad_enabled() || AttentionMath.PlainActive) return WrittenOut(x);
        Interlocked.Increment(ref applications);
        return Function.apply(x);
    }

    static long applications;

    /// <summary>How many times the lean function ran in this process (for tests).</summary>
    internal static long Applications => Interlocked.Read(ref applications);

    /// <summary>x·σ(1.702·x) as plain operations.</summary>
    public static Tensor WrittenOut(Tensor x)
    {
        using var scaled = x.mul(Slope);
        using var gate = F.sigmoid(scaled);
        return x * gate;
    }

    sealed class Function : autograd.SingleTensorFunction<Function>
    {
        public override string Name => "QuickGelu";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var x = (Tensor)vars[0];
            ctx.save_for_backward([x]);
            return WrittenOut(x);
        }

        // Autograd's pass over x·s with s = σ(1.702·x): MulBackward gives g·s to x and g·x to s; SigmoidBackward turns the
        // latter into (g·x)·(1 − s)·s; the scalar product's backward multiplies by 1.702; x's two parts are added (a sum of
        // two is the same in either order). In place where a value is used once, so at most three (tokens, 3072) tensors
        // are alive at a time: the same products of the same numbers, so the same bits.
        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad)
        {
            using var x = ctx.get_saved_variables()[0];
            using var scaled = x.mul(Slope);
            using var s = F.sigmoid(scaled);
            var throughGate = grad * x;
            // −s + 1 is 1 − s, rounded once; the scale is passed too, or TorchSharp's add_(Scalar) makes a temporary 1 for it.
            using (var complement = s.neg().add_(One, One)) throughGate.mul_(complement);
            throughGate.mul_(s).mul_(Slope);
            var result = grad * s;
            InPlace.Add(result, throughGate);
            throughGate.Dispose();
            return [result];
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
