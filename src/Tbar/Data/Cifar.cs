using static TorchSharp.torch;

namespace Tbar.Data;

/// <summary>CIFAR-10 / CIFAR-100 "binary version" files: one label byte (two for CIFAR-100: coarse, fine) + 3072 CHW bytes.</summary>
public static class Cifar
{
    /// <summary>Loads the train or test split of CIFAR-10 (<paramref name="classes"/> = 10) or CIFAR-100 (100, fine labels).</summary>
    public static ImageDataset Load(string folder, int classes, string split)
    {
        if (!Directory.Exists(folder)) throw new TbarException($"{folder}: CIFAR folder not found");
        var files = classes == 10
            ? split == "train" ? Enumerable.Range(1, 5).Select(i => $"data_batch_{i}.bin").ToArray() : ["test_batch.bin"]
            : [split == "train" ? "train.bin" : "test.bin"];
        int labelBytes = classes == 10 ? 1 : 2;
        var names = ClassNames(folder, classes);
        var pixels = new List<byte>();
        var labels = new List<long>();
        foreach (var name in files) Read(Path.Combine(folder, name), labelBytes, classes, pixels, labels);
        var t = tensor(pixels.ToArray(), ScalarType.Byte).view(labels.Count, 3, 32, 32);
        return new ImageDataset(t, labels.ToArray(), names, $"cifar{classes}:{split}");
    }

    static void Read(string path, int labelBytes, int classes, List<byte> pixels, List<long> labels)
    {
        if (!File.Exists(path)) throw new TbarException($"{path}: CIFAR batch file not found (expected the binary version)");
        var bytes = File.ReadAllBytes(path);
        int record = labelBytes + 3072;
        if (bytes.Length == 0 || bytes.Length % record != 0)
            throw new TbarException($"{path}: {bytes.Length} bytes is not a whole number of {record}-byte records");
        for (int at = 0; at < bytes.Length; at += record)
        {
            int label = bytes[at + labelBytes - 1];
            if (label >= classes) throw new TbarException($"{path}: label {label} at byte {at} is outside 0..{classes - 1}");
            labels.Add(label);
            pixels.AddRange(new ArraySegment<byte>(bytes, at + labelBytes, 3072));
        }
    }

    static string[] ClassNames(string folder, int classes)
    {
        string file = Path.Combine(folder, classes == 10 ? "batches.meta.txt" : "fine_label_names.txt");
        if (!File.Exists(file)) return Enumerable.Range(0, classes).Select(i => $"class {i}").ToArray();
        var names = File.ReadAllLines(file).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        if (names.Length != classes) throw new TbarException($"{file}: {names.Length} class names, expected {classes}");
        return names.Select(n => n.Replace('_', ' ')).ToArray();
    }
}
