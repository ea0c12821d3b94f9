using static TorchSharp.torch;

namespace Tbar.Models;

/// <summary>Projected features before normalisation, as plain arrays (what <c>tbar embed</c> writes).</summary>
public sealed record EmbedResult(long[][] TokenIds, float[][] ImageEmbeddings, float[][] TextEmbeddings, float[][] LogitsPerImage);

/// <summary>Runs images and texts through a model in batches.</summary>
public static class Embeddings
{
    /// <summary>Embeds image files (decoded and preprocessed with the model's config) and texts.</summary>
    public static EmbedResult Compute(Clip model, ClipTokenizer? tokenizer, IReadOnlyList<string> imagePaths,
        IReadOnlyList<string> texts, int batchSize = 32)
    {
        if (texts.Count > 0 && tokenizer == null) throw new TbarException("texts given but no tokenizer");
        using var guard = no_grad();
        using var scope = NewDisposeScope();
        model.eval();
        var images = EncodeImageFiles(model, imagePaths, batchSize);
        var tokens = texts.Count > 0 ? tokenizer!.TokenizeTensor(texts, model.Config.Text.ContextLength) : zeros(0, 0, ScalarType.Int64);
        var textEmb = texts.Count > 0 ? model.EncodeText(tokens) : zeros(0, model.Config.EmbedDim);
        var logits = images.shape[0] > 0 && texts.Count > 0 ? model.Logits(images, textEmb) : zeros(images.shape[0], texts.Count);
        return new EmbedResult(Rows<long>(tokens), Rows<float>(images), Rows<float>(textEmb), Rows<float>(logits));
    }

    /// <summary>(N, E) image embeddings of files, preprocessed per the model's config, in batches.</summary>
    public static Tensor EncodeImageFiles(Clip model, IReadOnlyList<string> paths, int batchSize)
    {
        var outputs = new List<Tensor>();
        for (int i = 0; i < paths.Count; i += batchSize)
        {
            var batch = paths.Skip(i).Take(batchSize).Select(p => Preprocess.LoadFile(p, model.Config.Preprocess)).ToArray();
            using var stacked = stack(batch);
            outputs.Add(EncodeImages(model, stacked));
        }
        return outputs.Count > 0 ? cat(outputs.ToArray(), 0) : zeros(0, model.Config.EmbedDim);
    }

    /// <summary>
    /// (B, E) embeddings of a (B, 3, S, S) preprocessed batch, without gradients, cut into <see cref="Shards"/> blocks that
    /// run side by side with one libtorch thread each (what <c>tbar embed</c>, <c>zeroshot</c> and the forward benchmark use).
    /// </summary>
    public static Tensor EncodeImages(Clip model, Tensor images) => EncodeImages(model.EncodeImage, images);

    /// <summary>The same, with <paramref name="encode"/> as the image tower, e.g. <see cref="ImageTower.Trunk"/>.</summary>
    public static Tensor EncodeImages(Func<Tensor, Tensor> encode, Tensor images)
    {
        var blocks = Shards.Map(images.shape[0], (first, length) =>
        {
            using var guard = no_grad();
            using var scope = NewDisposeScope();
            return encode(images.narrow(0, first, length)).MoveToOuterDisposeScope();
        });
        if (blocks.Length == 1) return blocks[0];
        var joined = cat(blocks, 0);
        foreach (var b in blocks) b.Dispose();
        return joined;
    }

    static T[][] Rows<T>(Tensor t) where T : unmanaged
    {
        if (t.numel() == 0) return [];
        var flat = t.cpu().contiguous().data<T>().ToArray();
        int cols = (int)t.shape[1];
        return Enumerable.Range(0, (int)t.shape[0]).Select(r => flat.AsSpan(r * cols, cols).ToArray()).ToArray();
    }
}
