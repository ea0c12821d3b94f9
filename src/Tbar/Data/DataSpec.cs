namespace Tbar.Data;

/// <summary>A training set (with the indices that may be used) and a test set, as named by a data spec.</summary>
public sealed record DataSplits(ImageDataset Train, long[] TrainIndices, ImageDataset Test, string Spec) : IDisposable
{
    public void Dispose()
    {
        Train.Dispose();
        Test.Dispose();
    }
}

/// <summary>
/// Parses data specs: "fashion-mnist[:DIR]" (train = half B of the training split, test = the test split),
/// "cifar10:DIR" / "cifar100:DIR" (binary batches), "folder:DIR" (DIR/train and DIR/test, class sub-folders).
/// </summary>
public static class DataSpec
{
    /// <summary>Loads the splits a spec names; folder images are brought to <paramref name="imageSize"/>.</summary>
    public static DataSplits Load(string spec, int imageSize)
    {
        int colon = spec.IndexOf(':');
        string kind = (colon < 0 ? spec : spec[..colon]).ToLowerInvariant(), arg = colon < 0 ? "" : spec[(colon + 1)..];
        return kind switch
        {
            "fashion-mnist" or "fmnist" => FashionMnistSplits(arg.Length > 0 ? arg : FashionMnist.DefaultFolder, spec),
            "cifar10" => Whole(Cifar.Load(Required(arg, spec), 10, "train"), Cifar.Load(arg, 10, "test"), spec),
            "cifar100" => Whole(Cifar.Load(Required(arg, spec), 100, "train"), Cifar.Load(arg, 100, "test"), spec),
            "folder" => Whole(ImageFolder.Load(Path.Combine(Required(arg, spec), "train"), imageSize),
                ImageFolder.Load(Path.Combine(arg, "test"), imageSize), spec),
            _ => throw new TbarException($"unknown data spec '{spec}' (valid: fashion-mnist[:DIR], cifar10:DIR, cifar100:DIR, folder:DIR)"),
        };
    }

    static DataSplits FashionMnistSplits(string folder, string spec)
    {
        var train = FashionMnist.Load("train", folder);
        return new DataSplits(train, Splits.Halves(train.Count).B, FashionMnist.Load("test", folder), spec);
    }

    static DataSplits Whole(ImageDataset train, ImageDataset test, string spec)
    {
        if (!train.ClassNames.SequenceEqual(test.ClassNames))
            throw new TbarException($"data spec '{spec}': train and test classes differ");
        return new DataSplits(train, train.AllIndices(), test, spec);
    }

    static string Required(string arg, string spec) =>
        arg.Length > 0 ? arg : throw new TbarException($"data spec '{spec}' needs a folder, e.g. {spec}:/path/to/data");
}
