using Tbar.Data;
using Tbar.Evaluation;
using Tbar.Models;
using Tbar.Training;
using static TorchSharp.torch;

namespace Tbar.Pipelines;

/// <summary>Recipe of the embedded mini-CLIP, pre-trained contrastively on Fashion-MNIST's training half A.</summary>
/// <param name="Epochs">Passes over half A (30k images), e.g. 8.</param>
/// <param name="BatchSize">Pairs per step, e.g. 256.</param>
/// <param name="LearningRate">Peak AdamW rate, e.g. 1e-3.</param>
/// <param name="Width">Width of both towers, e.g. 128.</param>
/// <param name="VisionLayers">Image-tower depth, e.g. 4.</param>
/// <param name="TextLayers">Text-tower depth, e.g. 3.</param>
/// <param name="EmbedDim">Joint embedding width, e.g. 64.</param>
/// <param name="ContextLength">Token positions, e.g. 20 (captions need ≤ 16).</param>
/// <param name="PatchSize">ViT patch side on 28×28 images, e.g. 7.</param>
/// <param name="Seed">Seed of initialisation, caption sampling and shuffling.</param>
/// <param name="DataFolder">Fashion-MNIST idx folder.</param>
public sealed record PretrainOptions(int Epochs = 8, int BatchSize = 256, double LearningRate = 1e-3, int Width = 128,
    int VisionLayers = 4, int TextLayers = 3, int EmbedDim = 64, int ContextLength = 20, int PatchSize = 7, long Seed = 0,
    string DataFolder = FashionMnist.DefaultFolder);

/// <summary>What pre-training produced.</summary>
public sealed record PretrainResult(string ModelFolder, TrainResult Training, Rate ZeroShotTestAccuracy, int VocabSize, long Parameters);

/// <summary>The results part of pretrain.json.</summary>
public sealed record PretrainSummary(double ZeroShotTestAccuracy, long Correct, long Total, int VocabSize, long Parameters, TrainResult Training)
{
    public static PretrainSummary From(PretrainResult r) => new(r.ZeroShotTestAccuracy.Value, r.ZeroShotTestAccuracy.Hits,
        r.ZeroShotTestAccuracy.Total, r.VocabSize, r.Parameters, r.Training);
}

/// <summary>Builds the vocabulary, the model and trains it; writes an HF-layout folder (the same path as a real checkpoint).</summary>
public static class Pretrain
{
    /// <summary>Runs the recipe and writes the model into the existing, empty folder <paramref name="outDir"/> (the caller stages it).</summary>
    public static PretrainResult Run(PretrainOptions o, string outDir, IProgress<TrainProgress>? progress = null)
    {
        manual_seed(o.Seed);
        var (captions, tokenizer, vocabSize) = Vocabulary(outDir);
        using var train = FashionMnist.Load("train", o.DataFolder);
        using var test = FashionMnist.Load("test", o.DataFolder);
        var halfA = Splits.Halves(train.Count).A;
        using var model = new Clip(Config(o, vocabSize, tokenizer.EndToken, train.Height));
        model.InitializeRandom(o.Seed);
        var rng = new Random((int)o.Seed);
        var training = Contrastive.Train(model, halfA.Length, batch =>
        {
            var indices = batch.Select(i => halfA[i]).ToArray();
            var images = Preprocess.Normalize(train.Images(indices), model.Config.Preprocess);
            var texts = indices.Select(i => captions.Sample(train.Labels[i], rng)).ToList();
            return (images, tokenizer.TokenizeTensor(texts, o.ContextLength));
        }, new TrainOptions(o.Epochs, o.BatchSize, o.LearningRate, 0.1, 0.05, 1.0, o.Seed), progress);
        ClipCheckpoint.WriteInto(model, outDir, CheckpointLayout.HuggingFace);
        using var head = ZeroShotHead.Build(model, tokenizer, test.ClassNames, Captions.Templates);
        var ca = Metrics.Evaluate(model, head, test, test.AllIndices()).CleanAccuracy;
        return new PretrainResult(outDir, training, ca, vocabSize, model.ParameterCount());
    }

    /// <summary>Fashion-MNIST's captions and the BPE vocabulary learned from them, written into <paramref name="outDir"/>.</summary>
    internal static (Captions Captions, ClipTokenizer Tokenizer, int VocabSize) Vocabulary(string outDir)
    {
        var captions = new Captions(Captions.FashionMnistSynonyms);
        var (vocab, merges) = BpeTrainer.Learn(captions.All(), maxMerges: 2000);
        BpeTrainer.Write(outDir, vocab, merges);
        return (captions, ClipTokenizer.FromFolder(outDir), vocab.Count);
    }

    /// <summary>The mini-CLIP's architecture for a vocabulary and image side.</summary>
    public static ClipConfig Config(PretrainOptions o, int vocabSize, int endToken, int imageSize)
    {
        int heads = Math.Max(1, o.Width / 32);
        return new ClipConfig(o.EmbedDim,
            new VisionConfig(imageSize, o.PatchSize, o.Width, o.VisionLayers, heads, 4 * o.Width, Activation.QuickGelu),
            new TextConfig(o.ContextLength, vocabSize, o.Width, o.TextLayers, heads, 4 * o.Width, Activation.QuickGelu,
                TextPooling.FirstEot, endToken),
            PreprocessConfig.Clip(imageSize));
    }
}
