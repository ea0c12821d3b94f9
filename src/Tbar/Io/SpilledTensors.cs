using static TorchSharp.torch;

namespace Tbar.Io;

/// <summary>
/// Tensors kept in a temporary safetensors file instead of in memory (a copy of weights needed again later, e.g. θ_b during
/// a fine-tune), read back one at a time with the same dtype, shape and bytes, on the CPU. The file is deleted on Dispose.
/// </summary>
public sealed class SpilledTensors : IDisposable
{
    readonly SafeTensorsFile file;

    /// <summary>The temporary file (in <see cref="Path.GetTempPath"/>, so TMPDIR chooses the disk).</summary>
    public string Path { get; }

    /// <summary>The names written, sorted (ordinal).</summary>
    public IReadOnlyList<string> Keys => file.Entries.Select(e => e.Name).ToList();

    SpilledTensors(string path, SafeTensorsFile file) => (Path, this.file) = (path, file);

    /// <summary>Writes <paramref name="tensors"/> (any device) to a new temporary file; the tensors themselves are not touched.</summary>
    public static SpilledTensors Write(IReadOnlyDictionary<string, Tensor> tensors)
    {
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"tbar-spill-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafeTensors.Save(path, tensors);
            return new SpilledTensors(path, SafeTensors.Open(path));
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

    /// <summary>A new CPU tensor holding what was written under <paramref name="key"/>.</summary>
    public Tensor Read(string key) => file.ReadTensor(key);

    public void Dispose() => File.Delete(Path);
}
