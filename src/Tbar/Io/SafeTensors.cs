using static TorchSharp.torch;

namespace Tbar.Io;

/// <summary>
/// A safetensors file: header validated first; tensor bytes read when asked for, one tensor at a time, straight from the file
/// (a checkpoint is never held twice: once as file bytes and once as tensors). Never pickle.
/// </summary>
public sealed class SafeTensorsFile
{
    // Copies a tensor's bytes (offset into the data section) into a buffer: from the file, or from bytes already read.
    readonly Action<long, Span<byte>> readData;
    readonly Dictionary<string, SafeTensorEntry> byName;

    /// <summary>The file read.</summary>
    public string Path { get; }
    /// <summary>The header's "__metadata__" (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
    /// <summary>Tensors, sorted by name (ordinal).</summary>
    public IReadOnlyList<SafeTensorEntry> Entries { get; }

    SafeTensorsFile(string path, List<SafeTensorEntry> entries, Dictionary<string, string> metadata, Action<long, Span<byte>> readData)
    {
        Path = path;
        Entries = entries;
        Metadata = metadata;
        this.readData = readData;
        byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
    }

    /// <summary>Opens read-only and validates the header; tensor bytes are read from the file by <see cref="ReadTensor"/>.</summary>
    public static SafeTensorsFile Open(string path)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors needs a little-endian host");
        if (!File.Exists(path)) throw new TbarException($"{path}: file not found");
        using var fs = OpenRead(path);
        var (entries, metadata, dataStart) = ReadHeader(fs, path);
        long length = fs.Length;
        return new SafeTensorsFile(path, entries, metadata, (offset, buffer) => ReadFromFile(path, length, dataStart + offset, buffer));
    }

    /// <summary>
    /// As <see cref="Open"/>, from a seekable stream (its data section read into memory); <paramref name="path"/> names it in errors.
    /// </summary>
    public static SafeTensorsFile Read(Stream fs, string path)
    {
        var (entries, metadata, dataStart) = ReadHeader(fs, path);
        var data = ReadExactly(fs, (int)(fs.Length - dataStart), path);
        return new SafeTensorsFile(path, entries, metadata, (offset, buffer) => data.AsSpan((int)offset, buffer.Length).CopyTo(buffer));
    }

    static FileStream OpenRead(string path) => new(path, FileMode.Open, FileAccess.Read, FileShare.Read);

    static (List<SafeTensorEntry>, Dictionary<string, string>, long DataStart) ReadHeader(Stream fs, string path)
    {
        long length = fs.Length;
        if (length < 8) throw SafeTensorsHeader.Bad(path, $"file is {length} bytes, shorter than the 8-byte header length");
        long n = BitConverter.ToInt64(ReadExactly(fs, 8, path));
        if (n <= 0 || n > SafeTensorsHeader.MaxHeaderBytes || n > length - 8)
            throw SafeTensorsHeader.Bad(path, $"header length {n} is out of range (file is {length} bytes, limit {SafeTensorsHeader.MaxHeaderBytes})");
        if (length - 8 - n > Array.MaxLength)
            throw new TbarException($"{path}: data section of {length - 8 - n} bytes exceeds the 2 GiB Tbar reads in one piece");
        var (entries, metadata) = SafeTensorsHeader.Parse(ReadExactly(fs, (int)n, path), length - 8 - n, path);
        return (entries, metadata, 8 + n);
    }

    // The header was checked against the file's length when it was opened; a file changed since then is an error, not a
    // different tensor.
    static void ReadFromFile(string path, long length, long position, Span<byte> buffer)
    {
        using var fs = OpenRead(path);
        if (fs.Length != length) throw new TbarException($"{path}: changed while being read ({length} bytes when opened, now {fs.Length})");
        fs.Position = position;
        ReadExactly(fs, buffer, path);
    }

    static byte[] ReadExactly(Stream s, int count, string path)
    {
        var buffer = new byte[count];
        ReadExactly(s, buffer, path);
        return buffer;
    }

    static void ReadExactly(Stream s, Span<byte> buffer, string path)
    {
        try
        {
            s.ReadExactly(buffer);
        }
        catch (EndOfStreamException)
        {
            throw SafeTensorsHeader.Bad(path, "file ended early");
        }
    }

    /// <summary>Whether a tensor of that name exists.</summary>
    public bool Contains(string name) => byName.ContainsKey(name);

    /// <summary>The entry of <paramref name="name"/>; an error naming file and key when absent.</summary>
    public SafeTensorEntry Entry(string name) =>
        byName.TryGetValue(name, out var e) ? e : throw new TbarException($"{Path}: no tensor '{name}'");

    /// <summary>A new CPU tensor in its stored dtype and shape.</summary>
    public Tensor ReadTensor(string name)
    {
        var e = Entry(name);
        var t = empty(e.Shape, SafeTensors.ScalarTypeOf(e.DType), device: CPU);
        try
        {
            if (e.End > e.Begin) readData(e.Begin, t.bytes);
            return t;
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }
}

/// <summary>Reads and writes safetensors files (sorted keys, 8-byte aligned header, atomic writes).</summary>
public static class SafeTensors
{
    /// <summary>Opens and validates a file.</summary>
    public static SafeTensorsFile Open(string path) => SafeTensorsFile.Open(path);

    /// <summary>All tensors of a file by name.</summary>
    public static Dictionary<string, Tensor> Load(string path)
    {
        var file = Open(path);
        return file.Entries.ToDictionary(e => e.Name, e => file.ReadTensor(e.Name));
    }

    /// <summary>Writes <paramref name="tensors"/> (any device/layout, supported dtypes) with keys sorted, atomically.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var names = tensors.Keys.Order(StringComparer.Ordinal).ToList();
        var entries = new List<SafeTensorEntry>();
        long at = 0;
        foreach (var name in names)
        {
            var t = tensors[name];
            var dtype = DTypeOf(t.dtype, name, path);
            long size = t.numel() * SafeTensorsHeader.ElementSize(dtype);
            entries.Add(new SafeTensorEntry(name, dtype, t.shape, at, at + size));
            at += size;
        }
        var header = SafeTensorsHeader.Write(entries, metadata);
        AtomicFile.Write(path, stream =>
        {
            stream.Write(BitConverter.GetBytes((long)header.Length));
            stream.Write(header);
            foreach (var name in names) WriteData(stream, tensors[name]);
        });
    }

    static void WriteData(Stream stream, Tensor t)
    {
        if (t.numel() == 0) return;
        using var cpu = t.detach().cpu().contiguous();
        stream.Write(cpu.bytes);
    }

    internal static ScalarType ScalarTypeOf(SafeDType t) => t switch
    {
        SafeDType.F64 => ScalarType.Float64,
        SafeDType.F32 => ScalarType.Float32,
        SafeDType.F16 => ScalarType.Float16,
        SafeDType.BF16 => ScalarType.BFloat16,
        SafeDType.I64 => ScalarType.Int64,
        SafeDType.I32 => ScalarType.Int32,
        SafeDType.U8 => ScalarType.Byte,
        _ => ScalarType.Bool,
    };

    static SafeDType DTypeOf(ScalarType t, string name, string path) => t switch
    {
        ScalarType.Float64 => SafeDType.F64,
        ScalarType.Float32 => SafeDType.F32,
        ScalarType.Float16 => SafeDType.F16,
        ScalarType.BFloat16 => SafeDType.BF16,
        ScalarType.Int64 => SafeDType.I64,
        ScalarType.Int32 => SafeDType.I32,
        ScalarType.Byte => SafeDType.U8,
        ScalarType.Bool => SafeDType.BOOL,
        _ => throw new TbarException($"{path}: tensor '{name}' has dtype {t}, which safetensors output does not support here"),
    };
}
