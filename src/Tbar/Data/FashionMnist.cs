using TorchSharp;
using static TorchSharp.torch;

namespace Tbar.Data;

/// <summary>Fashion-MNIST from its idx(.gz) files (Debian package dataset-fashion-mnist).</summary>
public static class FashionMnist
{
    /// <summary>Where Debian's package installs the files.</summary>
    public const string DefaultFolder = "/usr/share/datasets/fashion-mnist";

    /// <summary>The ten class names, in label order.</summary>
    public static readonly string[] ClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>Loads the "train" (60k) or "test" (10k) split as (N, 1, 28, 28) uint8.</summary>
    public static ImageDataset Load(string split, string? folder = null)
    {
        folder ??= DefaultFolder;
        string prefix = split switch
        {
            "train" => "train",
            "test" => "t10k",
            _ => throw new TbarException($"unknown Fashion-MNIST split '{split}' (train, test)"),
        };
        string images = Find(folder, $"{prefix}-images-idx3-ubyte"), labels = Find(folder, $"{prefix}-labels-idx1-ubyte");
        var (dims, pixels) = Idx.Read(images);
        var (labelDims, labelBytes) = Idx.Read(labels);
        if (dims.Length != 3 || labelDims.Length != 1 || dims[0] != labelDims[0])
            throw new TbarException($"{images}: shape [{string.Join(",", dims)}] does not match labels [{string.Join(",", labelDims)}]");
        var tensor = torch.tensor(pixels, ScalarType.Byte).view(dims[0], 1, dims[1], dims[2]);
        return new ImageDataset(tensor, labelBytes.Select(b => (long)b).ToArray(), ClassNames, $"fashion-mnist:{split}");
    }

    static string Find(string folder, string stem)
    {
        foreach (var name in new[] { stem + ".gz", stem })
            if (File.Exists(Path.Combine(folder, name))) return Path.Combine(folder, name);
        throw new TbarException($"{Path.Combine(folder, stem)}.gz: Fashion-MNIST file not found; install it with " +
            "'apt-get install dataset-fashion-mnist' or pass the folder holding the idx files");
    }
}
