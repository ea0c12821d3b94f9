namespace Tbar.Data;

/// <summary>
/// A training set (with the indices that may be used) and a test set, as named by a data spec. The test set is read when
/// first asked for: a command that never touches it (`tbar unlearn`) does not hold it in memory.
/// </summary>
public sealed class DataSplits : IDisposable
{
    readonly Lazy<ImageDataset> test;

    public DataSplits(ImageDataset train, long[] trainIndices, ImageDataset test, string spec) : this(train, trainIndices, () => test, spec) { }

    /// <summary>Splits whose test set <paramref name="loadTest"/> reads on first use.</summary>
    public DataSplits(ImageDataset train, long[] trainIndices, Func<ImageDataset> loadTest, string spec)
        : this(train, trainIndices, new Lazy<ImageDataset>(loadTest), spec) { }

    DataSplits(ImageDataset train, long[] trainIndices, Lazy<ImageDataset> test, string spec)
    {
        (Train, TrainIndices, Spec) = (train, trainIndices, spec);
        this.test = test;
    }

    /// <summary>The same data sets (shared, not copied) with other usable training indices.</summary>
    public DataSplits WithTrainIndices(long[] indices) => new(Train, indices, test, Spec);

    /// <summary>The training set.</summary>
    public ImageDataset Train { get; }
    /// <summary>The training indices that may be used.</summary>
    public long[] TrainIndices { get; }
    /// <summary>The test set (read now if it was not yet).</summary>
    public ImageDataset Test => test.Value;
    /// <summary>The spec the splits were loaded from.</summary>
    public string Spec { get; }

    public void Dispose()
    {
        Train.Dispose();
        if (test.IsValueCreated) test.Value.Dispose();
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
            "cifar10" => Whole(Cifar.Load(Required(arg, spec), 10, "train"), () => Cifar.Load(arg, 10, "test"), spec),
            "cifar100" => Whole(Cifar.Load(Required(arg, spec), 100, "train"), () => Cifar.Load(arg, 100, "test"), spec),
            "folder" => Whole(ImageFolder.Load(Path.Combine(Required(arg, spec), "train"), imageSize),
                () => ImageFolder.Load(Path.Combine(arg, "test"), imageSize), spec),
            _ => throw new TbarException($"unknown data spec '{spec}' (valid: fashion-mnist[:DIR], cifar10:DIR, cifar100:DIR, folder:DIR)"),
        };
    }

    static DataSplits FashionMnistSplits(string folder, string spec)
    {
        var train = FashionMnist.Load("train", folder);
        return new DataSplits(train, Splits.Halves(train.Count).B, () => FashionMnist.Load("test", folder), spec);
    }

    // The test set is read when first used; its classes must be the training set's.
    static DataSplits Whole(ImageDataset train, Func<ImageDataset> loadTest, string spec) => new(train, train.AllIndices(), () =>
    {
        var test = loadTest();
        if (train.ClassNames.SequenceEqual(test.ClassNames)) return test;
        test.Dispose();
        throw new TbarException($"data spec '{spec}': train and test classes differ");
    }, spec);

    static string Required(string arg, string spec) =>
        arg.Length > 0 ? arg : throw new TbarException($"data spec '{spec}' needs a folder, e.g. {spec}:/path/to/data");
}
