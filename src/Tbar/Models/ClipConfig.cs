namespace Tbar.Models;

/// <summary>MLP non-linearity of a transformer block.</summary>
public enum Activation
{
    /// <summary>x·σ(1.702x), OpenAI CLIP's original.</summary>
    QuickGelu,
    /// <summary>Exact (erf) GELU.</summary>
    Gelu,
    /// <summary>tanh approximation of GELU (HF "gelu_new" / "gelu_pytorch_tanh").</summary>
    GeluTanh,
}

/// <summary>Where the text tower reads its pooled feature.</summary>
public enum TextPooling
{
    /// <summary>At the largest token id (open_clip; the end token has the largest id in CLIP's vocabulary).</summary>
    Argmax,
    /// <summary>At the first occurrence of the end token (Hugging Face, when eos_token_id is not the legacy 2).</summary>
    FirstEot,
}

/// <summary>The ViT image tower's shape.</summary>
/// <param name="ImageSize">Input side in pixels, e.g. 224.</param>
/// <param name="PatchSize">Patch side in pixels, e.g. 32.</param>
/// <param name="Width">Residual stream width, e.g. 768.</param>
/// <param name="Layers">Number of residual blocks, e.g. 12.</param>
/// <param name="Heads">Attention heads, e.g. 12.</param>
/// <param name="MlpWidth">Hidden width of the MLP, e.g. 3072.</param>
/// <param name="Act">MLP non-linearity.</param>
/// <param name="LayerNormEps">LayerNorm epsilon, 1e-5 in CLIP.</param>
public sealed record VisionConfig(int ImageSize, int PatchSize, int Width, int Layers, int Heads, int MlpWidth,
    Activation Act, double LayerNormEps = 1e-5) : ImageTowerConfig(ImageSize)
{
    /// <summary>Patches per side.</summary>
    public int Grid => ImageSize / PatchSize;

    public override string Kind => "vit";

    public override string Summary => $"vit image {ImageSize} patch {PatchSize} width {Width} layers {Layers}";

    public override IEnumerable<string> TensorNames()
    {
        string[] stem = ["conv1.weight", "class_embedding", "positional_embedding", "ln_pre.weight", "ln_pre.bias"];
        return stem.Concat(Layouts.BlockNames("transformer", Layers)).Concat(["ln_post.weight", "ln_post.bias", "proj"]);
    }

    public override ImageTower Build(int embedDim) => new VisionTower(this, embedDim);

    /// <summary>Weight-matrix elements of one transformer block: q/k/v/out (4·w²) and the MLP (2·w·mlp).</summary>
    internal static long BlockWeights(long width, long mlp) => 4 * width * width + 2 * width * mlp;

    public override long ParameterLowerBound(int embedDim)
    {
        long v = Width, patches = (long)Grid * Grid;
        return Layers * BlockWeights(v, MlpWidth) + 3L * PatchSize * PatchSize * v + (patches + 1) * v + v * embedDim;
    }

    public override void Validate(string source)
    {
        ClipConfig.Require(new[] { PatchSize, Width, Heads, MlpWidth }.All(n => n > 0), source, "sizes must be positive");
        ClipConfig.Require(Layers <= 1024, source, "sizes are beyond any CLIP (image ≤ 4096 px, ≤ 1024 layers, context ≤ 65536)");
        ClipConfig.Require(ImageSize % PatchSize == 0, source, $"image size {ImageSize} is not a multiple of patch size {PatchSize}");
        ClipConfig.Require(Width % Heads == 0, source, $"vision width {Width} is not divisible by {Heads} heads");
        ClipConfig.Require(Layers >= 0, source, "sizes must be positive");
    }
}

/// <summary>The causal text transformer's shape.</summary>
/// <param name="ContextLength">Token positions, 77 in CLIP.</param>
/// <param name="VocabSize">Vocabulary size, 49408 in CLIP.</param>
/// <param name="Width">Residual stream width, e.g. 512.</param>
/// <param name="Layers">Number of residual blocks, e.g. 12.</param>
/// <param name="Heads">Attention heads, e.g. 8.</param>
/// <param name="MlpWidth">Hidden width of the MLP, e.g. 2048.</param>
/// <param name="Act">MLP non-linearity.</param>
/// <param name="Pooling">Which token's feature is projected.</param>
/// <param name="EotTokenId">End-of-text token id (used by <see cref="TextPooling.FirstEot"/>).</param>
/// <param name="LayerNormEps">LayerNorm epsilon, 1e-5 in CLIP.</param>
public sealed record TextConfig(int ContextLength, int VocabSize, int Width, int Layers, int Heads, int MlpWidth,
    Activation Act, TextPooling Pooling, int EotTokenId = 49407, double LayerNormEps = 1e-5);

/// <summary>A whole CLIP: both towers, the joint embedding width and the image normalisation.</summary>
/// <param name="EmbedDim">Joint embedding width (projection output), e.g. 512.</param>
/// <param name="Vision">Image tower (ViT or ResNet).</param>
/// <param name="Text">Text tower.</param>
/// <param name="Preprocess">Input size and per-channel mean/std.</param>
/// <param name="LogitScaleInit">Initial log logit scale for new models, ln(1/0.07) ≈ 2.6592.</param>
public sealed record ClipConfig(int EmbedDim, ImageTowerConfig Vision, TextConfig Text, PreprocessConfig Preprocess,
    double LogitScaleInit = 2.6592)
{
    /// <summary>OpenAI's ViT-B/32 shape (QuickGELU), the paper's model.</summary>
    public static ClipConfig VitB32() => new(512,
        new VisionConfig(224, 32, 768, 12, 12, 3072, Activation.QuickGelu),
        new TextConfig(77, 49408, 512, 12, 8, 2048, Activation.QuickGelu, TextPooling.Argmax),
        PreprocessConfig.Clip(224));

    /// <summary>OpenAI's ViT-B/16 shape (QuickGELU).</summary>
    public static ClipConfig VitB16() => VitB32() with { Vision = new VisionConfig(224, 16, 768, 12, 12, 3072, Activation.QuickGelu) };

    /// <summary>OpenAI's ViT-L/14 shape (QuickGELU): a 24-layer 1024-wide image tower, a 768-wide text tower, 768-d embeddings.</summary>
    public static ClipConfig VitL14() => new(768,
        new VisionConfig(224, 14, 1024, 24, 16, 4096, Activation.QuickGelu),
        new TextConfig(77, 49408, 768, 12, 12, 3072, Activation.QuickGelu, TextPooling.Argmax),
        PreprocessConfig.Clip(224));

    /// <summary>OpenAI's RN50 shape: ModifiedResNet [3,4,6,3] at width 64 with attention pooling, 1024-d embeddings.</summary>
    public static ClipConfig Rn50() => VitB32() with { EmbedDim = 1024, Vision = ModifiedResNetConfig.Rn50() };

    /// <summary>The shapes <c>tbar init --arch</c> knows, by the name a user types (open_clip's model names, lower case).</summary>
    public static readonly IReadOnlyDictionary<string, Func<ClipConfig>> Named = new Dictionary<string, Func<ClipConfig>>
    {
        ["vit-b-32"] = VitB32, ["vit-b-16"] = VitB16, ["vit-l-14"] = VitL14, ["rn50"] = Rn50,
    };

    /// <summary>Checks the shape is buildable; throws naming the offending field.</summary>
    public void Validate(string source)
    {
        Require(new[] { EmbedDim, Vision.ImageSize, Text.ContextLength, Text.VocabSize, Text.Width, Text.Heads, Text.MlpWidth }.All(n => n > 0),
            source, "sizes must be positive");
        Require(Vision.ImageSize <= 4096 && Text.Layers <= 1024 && Text.ContextLength <= 65536,
            source, "sizes are beyond any CLIP (image ≤ 4096 px, ≤ 1024 layers, context ≤ 65536)");
        Vision.Validate(source);
        Require(Text.Width % Text.Heads == 0, source, $"text width {Text.Width} is not divisible by {Text.Heads} heads");
        Require(EmbedDim > 0 && Text.Layers >= 0 && Text.ContextLength > 0 && Text.VocabSize > 0,
            source, "sizes must be positive");
    }

    /// <summary>
    /// A lower bound on the parameter count (the embeddings and the blocks' weight matrices; biases and norms left out),
    /// in 64-bit arithmetic so a hostile config cannot overflow it: checked against the weights file before allocating.
    /// </summary>
    public long MinimumParameters()
    {
        long t = Text.Width;
        long text = Text.Layers * VisionConfig.BlockWeights(t, Text.MlpWidth) + ((long)Text.VocabSize + Text.ContextLength) * t + t * EmbedDim;
        return text + Vision.ParameterLowerBound(EmbedDim);
    }

    /// <summary>The ViT shape, for code that only exists for ViT towers (HF/open_clip config files); throws otherwise.</summary>
    public VisionConfig Vit(string what) => Vision as VisionConfig
        ?? throw new TbarException($"{what} needs a ViT image tower; this model's is {Vision.Kind} ({Vision.Summary})");

    internal static void Require(bool ok, string source, string problem)
    {
        if (!ok) throw new TbarException($"{source}: {problem}");
    }
}
