using System.Buffers.Binary;
using System.Text;

namespace Tbar.Fuzz;

/// <summary>
/// Byte-level mutations of a valid seed input, reproducible from one integer: bit flips, byte and token overwrites,
/// inserts, deletions, duplications, truncation, and "interesting" integers (0, −1, huge) written over length and size
/// fields. Shared by the fuzz command and the property tests.
/// </summary>
public static class Mutator
{
    static readonly byte[][] Tokens = new[]
    {
        "{", "}", "[", "]", "\"", ":", ",", "-1", "0", "1e400", "18446744073709551616", "null", "true", "\"F32\"", "\"I8\"",
        "\"shape\"", "\"dtype\"", "\"data_offsets\"", "\"__metadata__\"", "\\u0000", "\\ud800", "[0,4]", "[4,0]", "[]", "{}",
    }.Select(Encoding.UTF8.GetBytes).Concat([[0x80], [0xC3], [0xFF, 0xFE], [0xED, 0xA0, 0x80], [0]]).ToArray();

    static readonly long[] Interesting = [0, 1, -1, 7, 8, 255, 256, 40_000, 65_535, 8_193, int.MaxValue, uint.MaxValue, long.MaxValue,
        long.MinValue, 100_000_001, 1L << 40];

    /// <summary>A copy of <paramref name="seed"/> with 1 to <paramref name="maxOps"/> mutations drawn from <paramref name="caseSeed"/>.</summary>
    public static byte[] Mutate(byte[] seed, int caseSeed, int maxOps = 4)
    {
        var rng = new Random(caseSeed);
        var bytes = new List<byte>(seed);
        int ops = 1 + rng.Next(maxOps);
        for (int i = 0; i < ops; i++) Apply(bytes, rng);
        return bytes.ToArray();
    }

    static void Apply(List<byte> b, Random rng)
    {
        int at = b.Count == 0 ? 0 : rng.Next(b.Count);
        switch (rng.Next(9))
        {
            case 0: if (b.Count > 0) b[at] ^= (byte)(1 << rng.Next(8)); break;
            case 1: if (b.Count > 0) b[at] = (byte)rng.Next(256); break;
            case 2: Overwrite(b, at, Tokens[rng.Next(Tokens.Length)]); break;
            case 3: b.InsertRange(at, Tokens[rng.Next(Tokens.Length)]); break;
            case 4: b.RemoveRange(at, Math.Min(b.Count - at, 1 + rng.Next(16))); break;
            case 5: b.InsertRange(at, b.GetRange(at, Math.Min(b.Count - at, 1 + rng.Next(32)))); break;
            case 6: b.RemoveRange(at, b.Count - at); break;
            case 7: Overwrite(b, rng.Next(2) == 0 ? 0 : at, Integer(rng, 8)); break;
            default: Overwrite(b, at, Integer(rng, 4)); break;
        }
    }

    // An interesting value (or one near it), little- or big-endian, 4 or 8 bytes: length fields, PNG/JPEG dimensions.
    static byte[] Integer(Random rng, int width)
    {
        long v = Interesting[rng.Next(Interesting.Length)] + rng.Next(-1, 2);
        var bytes = new byte[8];
        if (rng.Next(2) == 0) BinaryPrimitives.WriteInt64LittleEndian(bytes, v);
        else BinaryPrimitives.WriteInt64BigEndian(bytes, width == 8 ? v : v << 32);
        return bytes[..width];
    }

    static void Overwrite(List<byte> b, int at, byte[] token)
    {
        for (int i = 0; i < token.Length; i++)
        {
            if (at + i < b.Count) b[at + i] = token[i];
            else b.Add(token[i]);
        }
    }
}
