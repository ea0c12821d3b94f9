using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tbar.Models;

/// <summary>Causal text transformer: tokens + positions → blocks → ln_final → feature at the end token @ projection.</summary>
/// <remarks>Its parameters sit at the top level of <see cref="Clip"/> (open_clip's naming), so it is not a module of its own.</remarks>
sealed class TextTower
{
    readonly Embedding tokenEmbedding;
    readonly Parameter positionalEmbedding, projection;
    readonly Transformer transformer;
    readonly LayerNorm lnFinal;
    readonly TextConfig config;

    public TextTower(TextConfig c, int embedDim, Action<string, nn.Module> addModule, Action<string, Parameter> addParameter)
    {
        config = c;
        tokenEmbedding = nn.Embedding(c.VocabSize, c.Width);
        positionalEmbedding = new Parameter(zeros(c.ContextLength, c.Width));
        transformer = new Transformer(c.Width, c.Layers, c.Heads, c.MlpWidth, c.Act, c.LayerNormEps, causal: true);
        lnFinal = nn.LayerNorm(c.Width, c.LayerNormEps);
        projection = new Parameter(zeros(c.Width, embedDim));
        addModule("token_embedding", tokenEmbedding);
        addParameter("positional_embedding", positionalEmbedding);
        addModule("transformer", transformer);
        addModule("ln_final", lnFinal);
        addParameter("text_projection", projection);
    }

    /// <summary>(B, L) int64 token ids, L ≤ context → (B, embed) projected features, before L2 normalisation.</summary>
    public Tensor Forward(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        long length = tokens.shape[1];
        if (length > config.ContextLength)
            throw new TbarException($"{length} tokens exceed the model's context length {config.ContextLength}");
        var x = tokenEmbedding.forward(tokens) + positionalEmbedding.narrow(0, 0, length);
        x = lnFinal.forward(transformer.forward(x));
        var rows = arange(tokens.shape[0], dtype: ScalarType.Int64);
        var pooled = x.index(rows, PoolIndex(tokens));                              // (B, W)
        return pooled.matmul(projection).MoveToOuterDisposeScope();
    }

    Tensor PoolIndex(Tensor tokens)
    {
        if (config.Pooling == TextPooling.Argmax) return tokens.argmax(1);
        // First end token per row; rows without one fall back to argmax, as HF does for legacy configs.
        var isEot = tokens.eq(config.EotTokenId);
        var first = isEot.to(ScalarType.Int32).argmax(1);
        return where(isEot.any(1), first, tokens.argmax(1));
    }
}
