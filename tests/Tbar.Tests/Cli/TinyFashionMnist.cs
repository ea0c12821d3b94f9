using Tbar.Data;

namespace Tbar.Tests.Cli;

/// <summary>The first N training and test images of Fashion-MNIST as idx files in a temporary folder: a fast data spec for CLI runs.</summary>
public abstract class TinyFashionMnist : IDisposable
{
    public string Folder { get; } = Directory.CreateTempSubdirectory("tbar-tiny-fmnist-").FullName;

    /// <summary>The data spec naming the folder.</summary>
    public string Spec => $"fashion-mnist:{Folder}";

    protected TinyFashionMnist(int train, int test)
    {
        Write("train", train);
        Write("t10k", test);
    }

    void Write(string prefix, int count)
    {
        using var data = FashionMnist.Load(prefix == "train" ? "train" : "test");
        using var pixels = data.Pixels.narrow(0, 0, count).contiguous();   // (N, 1, 28, 28) uint8
        byte[] Header(byte rank, params int[] dims) => [0, 0, 8, rank, .. dims.SelectMany(d => new[] { (byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d })];
        File.WriteAllBytes(Path.Combine(Folder, $"{prefix}-images-idx3-ubyte"), [.. Header(3, count, 28, 28), .. pixels.data<byte>().ToArray()]);
        File.WriteAllBytes(Path.Combine(Folder, $"{prefix}-labels-idx1-ubyte"), [.. Header(1, count), .. data.Labels.Take(count).Select(l => (byte)l)]);
    }

    public void Dispose()
    {
        Directory.Delete(Folder, recursive: true);
        GC.SuppressFinalize(this);
    }
}

/// <summary>1,200 training images (half B = 600) and 200 test images: attack and unlearn in seconds.</summary>
public sealed class FashionMnist1200() : TinyFashionMnist(1200, 200);

/// <summary>6,000 training images (half B = 3,000): enough for scan's 2,000 + 1,000 held-out images.</summary>
public sealed class FashionMnist6000() : TinyFashionMnist(6000, 200);
