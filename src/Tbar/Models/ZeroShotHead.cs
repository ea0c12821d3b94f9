using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Tbar.Models;

/// <summary>
/// Zero-shot classifier: for each class, the prompt templates filled with its name are embedded, normalised,
/// averaged and renormalised. logits = exp(logit_scale) · cos(image, class).
/// </summary>
public sealed class ZeroShotHead : IDisposable
{
    /// <summary>The prompts of the original CLIP paper's simplest ensemble; "{}" is replaced by the class name.</summary>
    public static readonly string[] DefaultTemplates = ["a photo of a {}.", "a photo of the {}.", "a picture of a {}.", "an image of a {}."];

    /// <summary>(C, E) unit-norm class embeddings.</summary>
    public Tensor Weights { get; }
    /// <summary>Class names in order.</summary>
    public IReadOnlyList<string> ClassNames { get; }
    /// <summary>exp(logit_scale) at build time (a scalar tensor).</summary>
    public Tensor Scale { get; }
    /// <summary>Optional (C) per-class logit bias, owned by the caller (null: none; zero-shot CLIP has none).</summary>
    public Tensor? Bias { get; set; }

    ZeroShotHead(Tensor weights, Tensor scale, IReadOnlyList<string> classNames)
    {
        Weights = weights;
        Scale = scale;
        ClassNames = classNames;
    }

    /// <summary>The head Tbar uses everywhere: the class names under the <see cref="Prompts.Product"/> templates.</summary>
    public static ZeroShotHead ForClasses(Clip model, ClipTokenizer tokenizer, IReadOnlyList<string> classNames) =>
        Build(model, tokenizer, classNames, Prompts.Product);

    /// <summary>Builds the head from the model's (frozen) text tower.</summary>
    public static ZeroShotHead Build(Clip model, ClipTokenizer tokenizer, IReadOnlyList<string> classNames, IReadOnlyList<string>? templates = null)
    {
        templates ??= DefaultTemplates;
        if (classNames.Count == 0) throw new TbarException("zero-shot head needs at least one class name");
        if (templates.Count == 0 || templates.Any(t => !t.Contains("{}")))
            throw new TbarException("every prompt template must contain '{}' where the class name goes");
        using var guard = no_grad();
        using var scope = NewDisposeScope();
        var rows = classNames.Select(name => ClassEmbedding(model, tokenizer, name, templates)).ToArray();
        var weights = stack(rows).MoveToOuterDisposeScope();
        var scale = model.LogitScale.detach().MoveToOuterDisposeScope();
        return new ZeroShotHead(weights, scale, classNames.ToArray());
    }

    static Tensor ClassEmbedding(Clip model, ClipTokenizer tokenizer, string name, IReadOnlyList<string> templates)
    {
        var prompts = templates.Select(t => t.Replace("{}", name)).ToList();
        using var tokens = tokenizer.TokenizeTensor(prompts, model.Config.Text.ContextLength);
        var embeddings = F.normalize(model.EncodeText(tokens), dim: -1);
        return F.normalize(embeddings.mean([0]), dim: -1);
    }

    /// <summary>(B, E) image embeddings (unnormalised) → (B, C) logits.</summary>
    public Tensor Logits(Tensor imageEmbeddings)
    {
        using var normalised = F.normalize(imageEmbeddings, dim: -1);
        using var cosine = normalised.matmul(Weights.t());
        if (Bias is null) return cosine * Scale;
        using var scaled = cosine * Scale;
        return scaled + Bias;
    }

    public void Dispose()
    {
        Weights.Dispose();
        Scale.Dispose();
    }
}
