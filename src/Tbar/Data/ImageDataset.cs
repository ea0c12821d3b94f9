using static TorchSharp.torch;

namespace Tbar.Data;

/// <summary>A small labelled image set held as one uint8 tensor (N, C, H, W), C = 1 (grey) or 3, with its class names.</summary>
public sealed class ImageDataset : IDisposable
{
    /// <summary>(N, C, H, W) uint8 pixels.</summary>
    public Tensor Pixels { get; }
    /// <summary>Class index per image.</summary>
    public long[] Labels { get; }
    /// <summary>Class names, indexed by label.</summary>
    public IReadOnlyList<string> ClassNames { get; }
    /// <summary>Where the images came from (for records and messages).</summary>
    public string Source { get; }

    public ImageDataset(Tensor pixels, long[] labels, IReadOnlyList<string> classNames, string source)
    {
        if (pixels.dim() != 4 || pixels.shape[1] is not (1 or 3) || pixels.dtype != ScalarType.Byte)
            throw new ArgumentException("pixels must be uint8 (N, 1|3, H, W)");
        if (pixels.shape[0] != labels.Length) throw new ArgumentException("one label per image");
        // −1 is "true class unknown" (a folder of triggered images, see UnlearnTask.ForgetLabelsKnown).
        if (labels.Any(l => l < Unknown || l >= classNames.Count))
            throw new TbarException($"{source}: a label is outside the {classNames.Count} classes");
        Pixels = pixels;
        Labels = labels;
        ClassNames = classNames;
        Source = source;
    }

    /// <summary>The label of an image whose true class is unknown.</summary>
    public const long Unknown = -1;

    /// <summary>Number of images.</summary>
    public int Count => Labels.Length;
    /// <summary>Every index, 0..Count−1.</summary>
    public long[] AllIndices() => Enumerable.Range(0, Count).Select(i => (long)i).ToArray();

    /// <summary>Image height.</summary>
    public int Height => (int)Pixels.shape[2];
    /// <summary>Image width.</summary>
    public int Width => (int)Pixels.shape[3];

    /// <summary>(B, 3, H, W) float32 in [0,1] for the given indices; grey images become 3 equal channels.</summary>
    public Tensor Images(long[] indices)
    {
        using var scope = NewDisposeScope();
        var picked = Pixels.index_select(0, tensor(indices)).to(ScalarType.Float32).div_(255f);
        var rgb = picked.shape[1] == 1 ? picked.expand(-1, 3, -1, -1).contiguous() : picked;
        return rgb.MoveToOuterDisposeScope();
    }

    /// <summary>Labels of the given indices as an int64 tensor.</summary>
    public Tensor LabelTensor(long[] indices) => tensor(indices.Select(i => Labels[i]).ToArray());

    /// <summary>A new dataset holding only <paramref name="indices"/> (pixels copied).</summary>
    public ImageDataset Subset(long[] indices, string? source = null)
    {
        using var idx = tensor(indices);
        return new ImageDataset(Pixels.index_select(0, idx), indices.Select(i => Labels[i]).ToArray(), ClassNames, source ?? Source);
    }

    /// <summary>
    /// A new dataset with only the named classes, relabelled 0..n−1 in the order given (pixels copied); with the indices
    /// it kept from <paramref name="from"/>, mapped to the new dataset's positions.
    /// </summary>
    public (ImageDataset Data, long[] Kept) ClassSubset(IReadOnlyList<string> classes, long[] from, string source)
    {
        var map = classes.Select((name, i) => (Old: ClassIndex(name), New: (long)i)).ToDictionary(p => (long)p.Old, p => p.New);
        var chosen = from.Where(i => map.ContainsKey(Labels[i])).ToArray();
        using var idx = tensor(chosen);
        var data = new ImageDataset(Pixels.index_select(0, idx), chosen.Select(i => map[Labels[i]]).ToArray(),
            classes.Select(c => ClassNames[ClassIndex(c)]).ToArray(), source);
        return (data, data.AllIndices());
    }

    /// <summary>Index of a class given by name (case-insensitive) or number; unknown → error listing the names.</summary>
    public int ClassIndex(string nameOrIndex)
    {
        if (int.TryParse(nameOrIndex, out int i) && i >= 0 && i < ClassNames.Count) return i;
        for (int c = 0; c < ClassNames.Count; c++)
            if (string.Equals(ClassNames[c], nameOrIndex, StringComparison.OrdinalIgnoreCase)) return c;
        throw new TbarException($"unknown class '{nameOrIndex}' in {Source}; valid: {string.Join(", ", ClassNames)} (or 0..{ClassNames.Count - 1})");
    }

    public void Dispose() => Pixels.Dispose();
}
