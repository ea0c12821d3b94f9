using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Tbar.Models;

/// <summary>
/// CLIP: image tower, text tower and logit scale. Parameter names follow open_clip (visual.*, transformer.*,
/// token_embedding, ...); <see cref="Layouts"/> maps them to and from each checkpoint layout.
/// </summary>
public sealed class Clip : nn.Module
{
    readonly TextTower text;
    readonly Parameter logitScale;

    /// <summary>The architecture.</summary>
    public ClipConfig Config { get; }
    /// <summary>Where the weights came from and how to write them back (null for a model built in memory).</summary>
    public CheckpointOrigin? Origin { get; internal set; }
    /// <summary>The image tower (fine-tuned by TBAR; the text tower stays frozen).</summary>
    public ImageTower Visual { get; }

    public Clip(ClipConfig config) : base("clip")
    {
        config.Validate("model config");
        Config = config;
        Visual = config.Vision.Build(config.EmbedDim);
        register_module("visual", Visual);
        text = new TextTower(config.Text, config.EmbedDim, (n, m) => register_module(n, m), (n, p) => register_parameter(n, p));
        logitScale = new Parameter(tensor((float)config.LogitScaleInit));
        register_parameter("logit_scale", logitScale);
        if (Compute.OffCpu) this.to(Compute.Device);
        NativeStartup.FitAllocator(Visual.parameters().Sum(p => p.numel()));
    }

    /// <summary>(B, 3, S, S) normalised images → (B, embed), before normalisation.</summary>
    public Tensor EncodeImage(Tensor images) => Visual.forward(images);

    /// <summary>(B, L) token ids → (B, embed), before normalisation.</summary>
    public Tensor EncodeText(Tensor tokens) =>
        TextParked ? throw new TbarException("the text tower is parked (ParkedText): restore it before encoding text") : text.Forward(tokens);

    /// <summary>Whether the text tower's weights are in a temporary file (<see cref="ParkedText"/>), not in the model.</summary>
    public bool TextParked { get; internal set; }

    /// <summary>The text tower's parameters by name: all but the image tower's (visual.*) and logit_scale.</summary>
    public Dictionary<string, Parameter> TextParameters() =>
        named_parameters().Where(p => !p.name.StartsWith("visual.", StringComparison.Ordinal) && p.name != "logit_scale")
            .ToDictionary(p => p.name, p => p.parameter);

    /// <summary>The learned temperature, exp(logit_scale).</summary>
    public Tensor LogitScale => logitScale.exp();

    /// <summary>logits_per_image (B_img, B_txt) = exp(logit_scale) · cos(image, text).</summary>
    public Tensor Logits(Tensor imageEmbeddings, Tensor textEmbeddings)
    {
        using var scope = NewDisposeScope();
        var img = F.normalize(imageEmbeddings, dim: -1);
        var txt = F.normalize(textEmbeddings, dim: -1);
        return (LogitScale * img.matmul(txt.t())).MoveToOuterDisposeScope();
    }

    /// <summary>Parameters by open_clip-style name.</summary>
    public Dictionary<string, Parameter> Parameters() => named_parameters().ToDictionary(p => p.name, p => p.parameter);

    /// <summary>Everything a checkpoint stores, by name: the parameters, then persistent buffers (a ResNet's BatchNorm statistics).</summary>
    public Dictionary<string, Tensor> StateTensors()
    {
        var state = named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        foreach (var (name, buffer) in named_buffers()) state[name] = buffer;
        return state;
    }

    /// <summary>Total number of parameter elements.</summary>
    public long ParameterCount() => parameters().Sum(p => p.numel());

    /// <summary>Random initialisation in the spirit of CLIP's (normal with width-scaled std), seeded.</summary>
    public void InitializeRandom(long seed)
    {
        using var guard = no_grad();
        var gen = new Generator((ulong)seed);
        foreach (var (name, p) in named_parameters())
        {
            if (name.EndsWith(".bias") || name.EndsWith("in_proj_bias")) p.zero_();
            else if (IsNormScale(name)) p.fill_(1.0);
            else if (name == "logit_scale") p.fill_(Config.LogitScaleInit);
            else p.copy_(Compute.FromCpu(() => randn(p.shape, generator: gen)) * InitStd(name, p));
        }
    }

    // LayerNorm scales (ln_*) and a ModifiedResNet's BatchNorm scales (bn1..3, downsample.1) start at 1. rn18-clip's
    // BatchNorms (…bn.weight) are left to the random rule: its visual weights are replaced after init, and the text
    // tower's draws from the generator must stay where they were.
    static bool IsNormScale(string name) => name.EndsWith(".weight") &&
        (name.Contains("ln_") || System.Text.RegularExpressions.Regex.IsMatch(name, @"\.(bn\d|downsample\.1)\.weight$"));

    static double InitStd(string name, Tensor p)
    {
        if (name.Contains("positional_embedding")) return 0.01;
        if (name.Contains("token_embedding")) return 0.02;
        // Projections are used as x @ proj, so their fan-in is the first dimension; weights are (out, in, ...).
        bool inputFirst = name is "visual.proj" or "text_projection" || p.dim() == 1;
        long fanIn = inputFirst ? p.shape[0] : p.numel() / p.shape[0];
        return Math.Pow(fanIn, -0.5);
    }
}
