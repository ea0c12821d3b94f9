using Tbar.Training;
using Tbar.Data;
using Tbar.Evaluation;
using Tbar.Models;
using static TorchSharp.torch;

namespace Tbar.Pipelines;

/// <summary>Recipe of rn18-clip: the package's ImageNet ResNet as image tower, a projection, and the mini-CLIP's text side.</summary>
/// <param name="ImageSize">Working side of the tower (Fashion-MNIST's 28 px are resized to it), e.g. 32, 48 or 64.</param>
/// <param name="LockedEpochs">LiT epochs: the tower locked, projection + text tower + temperature trained, e.g. 3.</param>
/// <param name="UnlockedEpochs">Epochs afterwards with every weight trained (0 = off), e.g. 3.</param>
/// <param name="BatchSize">Pairs per step, e.g. 256.</param>
/// <param name="LearningRate">Peak AdamW rate of the locked phase, e.g. 1e-3.</param>
/// <param name="UnlockedLearningRate">Peak rate of the unlocked phase, e.g. 1e-4.</param>
/// <param name="TextWidth">Text tower width, e.g. 128.</param>
/// <param name="TextLayers">Text tower depth, e.g. 3.</param>
/// <param name="EmbedDim">Joint embedding width, e.g. 64.</param>
/// <param name="ContextLength">Token positions, e.g. 20.</param>
/// <param name="Seed">Seed of initialisation, caption sampling and shuffling.</param>
/// <param name="DataFolder">Fashion-MNIST idx folder.</param>
public sealed record Rn18ClipOptions(int ImageSize = 32, int LockedEpochs = 3, int UnlockedEpochs = 3, int BatchSize = 256,
    double LearningRate = 1e-3, double UnlockedLearningRate = 1e-4, int TextWidth = 128, int TextLayers = 3, int EmbedDim = 64,
    int ContextLength = 20, long Seed = 0, string DataFolder = FashionMnist.DefaultFolder)
{
    /// <summary>Throws naming the bad field (the epochs and rates of each phase are checked by its training loop).</summary>
    public void Validate()
    {
        // Five stride-2 stages leave 1 px at 32 px: below that the pooled feature is of padding.
        if (ImageSize is < 32 or > 1024) throw new TbarException($"rn18-clip image size must be in [32, 1024] px (got {ImageSize})");
        if (UnlockedEpochs < 0) throw new TbarException($"unlocked epochs must be ≥ 0 (got {UnlockedEpochs})");
    }
}

/// <summary>Builds rn18-clip from the ResNet18 package and Fashion-MNIST half A; writes a Tbar-layout folder.</summary>
public static class Rn18Clip
{
    /// <summary>The architecture name written into the folder's config.</summary>
    public const string Architecture = "rn18-clip";

    /// <summary>Runs the recipe (deterministic for a seed) and writes the model into the existing, empty folder <paramref name="outDir"/>.</summary>
    public static PretrainResult Run(Rn18ClipOptions o, string outDir, IProgress<TrainProgress>? progress = null)
    {
        o.Validate();
        manual_seed(o.Seed);
        var (captions, tokenizer, vocabSize) = Pretrain.Vocabulary(outDir);
        using var train = FashionMnist.Load("train", o.DataFolder);
        using var test = FashionMnist.Load("test", o.DataFolder);
        var halfA = Splits.Halves(train.Count).A;
        using var model = Build(o, vocabSize, tokenizer.EndToken);
        var rng = new Random((int)o.Seed);
        Tensor Tokens(long[] indices) =>
            tokenizer.TokenizeTensor(indices.Select(i => captions.Sample(train.Labels[i], rng)).ToList(), o.ContextLength);
        var training = Locked(model, train, halfA, o, Tokens, progress);
        if (o.UnlockedEpochs > 0) training = Unlocked(model, train, halfA, o, Tokens, progress);
        ClipCheckpoint.WriteInto(model, outDir, CheckpointLayout.Tbar, Architecture);
        using var head = ZeroShotHead.Build(model, tokenizer, test.ClassNames, Captions.Templates);
        var ca = Metrics.Evaluate(model, head, test, test.AllIndices()).CleanAccuracy;
        return new PretrainResult(outDir, training, ca, vocabSize, model.ParameterCount());
    }

    /// <summary>The model with random text side and projection (seeded) and the package's ImageNet weights in the tower.</summary>
    public static Clip Build(Rn18ClipOptions o, int vocabSize, int endToken)
    {
        var mean = ResNetOnnx.ChannelMeanRgb(ResNetOnnx.PreprocessPath ?? ResNetOnnx.RequireNetwork());
        int heads = Math.Max(1, o.TextWidth / 32);
        var config = new ClipConfig(o.EmbedDim, ResNetConfig.Rn18(o.ImageSize),
            new TextConfig(o.ContextLength, vocabSize, o.TextWidth, o.TextLayers, heads, 4 * o.TextWidth, Activation.QuickGelu,
                TextPooling.FirstEot, endToken),
            ResNetOnnx.Preprocess(o.ImageSize, mean));
        var model = new Clip(config);
        model.InitializeRandom(o.Seed);
        ResNetOnnx.Import((ResNetTower)model.Visual, ResNetOnnx.RequireNetwork());
        return model;
    }

    // LiT: the tower's pooled features are computed once; only the projection, the text tower and the temperature learn.
    static TrainResult Locked(Clip model, ImageDataset train, long[] pool, Rn18ClipOptions o,
        Func<long[], Tensor> tokens, IProgress<TrainProgress>? progress)
    {
        var tower = (ResNetTower)model.Visual;
        using var features = TowerFeatures(tower, train, pool, model.Config.Preprocess, progress);   // (N, 512)
        var proj = model.named_parameters().Single(p => p.name == "visual.proj").parameter;
        var trained = model.named_parameters().Where(p => !p.name.StartsWith("visual.") || p.name == "visual.proj")
            .Select(p => p.parameter).ToList();
        model.train();
        var result = TrainLoop.Run(trained, pool.Length, new TrainOptions(o.LockedEpochs, o.BatchSize, o.LearningRate, 0.1, 0.05, 1.0, o.Seed),
            batch => Contrastive.EmbeddingLoss(model, features.index_select(0, tensor(batch)).matmul(proj),
                tokens(batch.Select(i => pool[i]).ToArray())), progress);
        model.eval();
        return result;
    }

    static TrainResult Unlocked(Clip model, ImageDataset train, long[] pool, Rn18ClipOptions o,
        Func<long[], Tensor> tokens, IProgress<TrainProgress>? progress) =>
        Contrastive.Train(model, pool.Length, batch =>
        {
            var indices = batch.Select(i => pool[i]).ToArray();
            return (Preprocess.Normalize(train.Images(indices), model.Config.Preprocess), tokens(indices));
        }, new TrainOptions(o.UnlockedEpochs, o.BatchSize, o.UnlockedLearningRate, 0.1, 0.05, 1.0, o.Seed + 1), progress);

    /// <summary>(N, 512) pooled tower features of <paramref name="indices"/>, in batches, without gradients.</summary>
    public static Tensor TowerFeatures(ResNetTower tower, ImageDataset data, long[] indices, PreprocessConfig pre,
        IProgress<TrainProgress>? progress = null, int batchSize = 256)
    {
        using var guard = no_grad();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var parts = new List<Tensor>();
        int total = (indices.Length + batchSize - 1) / batchSize;
        for (int b = 0; b < total; b++)
        {
            using var scope = NewDisposeScope();
            var batch = indices.Skip(b * batchSize).Take(batchSize).ToArray();
            parts.Add(tower.Features(Preprocess.Normalize(data.Images(batch), pre)).MoveToOuterDisposeScope());
            progress?.Report(new TrainProgress(b + 1, total, 0, (b * batchSize + batch.Length) / clock.Elapsed.TotalSeconds));
        }
        var all = cat(parts.ToArray(), 0);
        foreach (var p in parts) p.Dispose();
        return all;
    }
}
