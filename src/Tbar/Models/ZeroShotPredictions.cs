using static TorchSharp.torch;

namespace Tbar.Models;

/// <summary>One image's zero-shot answer: the file, the most probable class and its softmax probability.</summary>
public sealed record ZeroShotPrediction(string File, string Class, float Probability);

/// <summary>Zero-shot classification of image files (what <c>tbar zeroshot</c> prints and writes).</summary>
public static class ZeroShotPredictions
{
    /// <summary>The most probable class of each file under <paramref name="head"/>, in file order.</summary>
    public static List<ZeroShotPrediction> Classify(Clip model, ZeroShotHead head, IReadOnlyList<string> files, int batchSize = 32)
    {
        using var scope = NewDisposeScope();
        using var guard = no_grad();
        var probs = head.Logits(Embeddings.EncodeImageFiles(model, files, batchSize)).softmax(1);   // (N, classes)
        var (best, index) = probs.max(1);
        return [.. files.Select((f, i) => new ZeroShotPrediction(f, head.ClassNames[(int)index[i].item<long>()], best[i].item<float>()))];
    }
}
