using System.IO.Compression;

namespace Tbar.Data;

/// <summary>Reads the idx format of (Fashion-)MNIST: big-endian magic (0, 0, type 0x08 = u8, rank), dims, then bytes.</summary>
public static class Idx
{
    /// <summary>Reads an unsigned-byte idx file (optionally .gz); returns its dimensions and data.</summary>
    public static (int[] Dims, byte[] Data) Read(string path)
    {
        if (!File.Exists(path)) throw new TbarException($"{path}: file not found");
        using var file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var buffered = new BufferedStream(stream);
        try
        {
            var magic = ReadExactly(buffered, 4, path);
            if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] is 0 or > 4)
                throw new TbarException($"{path}: not an unsigned-byte idx file (magic {Convert.ToHexString(magic)})");
            var dims = Enumerable.Range(0, magic[3]).Select(_ => BigEndianInt(ReadExactly(buffered, 4, path), path)).ToArray();
            long count = dims.Aggregate(1L, (a, d) => checked(a * d));
            if (count > int.MaxValue) throw new TbarException($"{path}: {count} values is too large");
            return (dims, ReadExactly(buffered, (int)count, path));
        }
        catch (InvalidDataException e)
        {
            throw new TbarException($"{path}: corrupt gzip data ({e.Message})", e);
        }
    }

    static byte[] ReadExactly(Stream s, int count, string path)
    {
        var buffer = new byte[count];
        int read = 0;
        while (read < count)
        {
            int n = s.Read(buffer, read, count - read);
            if (n == 0) throw new TbarException($"{path}: truncated (expected {count} more bytes, got {read})");
            read += n;
        }
        return buffer;
    }

    static int BigEndianInt(byte[] b, string path)
    {
        int v = (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
        if (v < 0) throw new TbarException($"{path}: negative dimension");
        return v;
    }
}
