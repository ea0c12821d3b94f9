using System.Text;

namespace Tbar.Tests.Fuzz;

/// <summary>Builds safetensors headers with a known verdict: a valid random layout, or one with a single defect.</summary>
static class Headers
{
    public sealed record Entry(string Name, string DType, int ElementSize, long[] Shape, long Begin, long End);

    static readonly (string Name, int Size)[] Valid_DTypes = [("F64", 8), ("F32", 4), ("F16", 2), ("BF16", 2), ("I64", 8), ("I32", 4), ("U8", 1), ("BOOL", 1)];

    public static (string Header, byte[] Data, List<Entry> Entries) Valid(Random rng)
    {
        var entries = new List<Entry>();
        long at = 0;
        int n = rng.Next(1, 6);
        for (int i = 0; i < n; i++)
        {
            var (dtype, size) = Valid_DTypes[rng.Next(Valid_DTypes.Length)];
            var shape = Enumerable.Range(0, rng.Next(0, 4)).Select(_ => (long)rng.Next(0, 5)).ToArray();
            long bytes = shape.Aggregate((long)size, (a, d) => a * d);
            entries.Add(new Entry($"w{i}_{rng.Next(1000)}", dtype, size, shape, at, at + bytes));
            at += bytes;
        }
        var order = entries.OrderBy(_ => rng.Next()).ToList();   // JSON key order is free
        return (Json(order, rng.Next(3) == 0), new byte[at], entries);
    }

    public static string Json(IEnumerable<Entry> entries, bool metadata)
    {
        var parts = entries.Select(e => $"\"{e.Name}\":{{\"dtype\":\"{e.DType}\",\"shape\":[{string.Join(",", e.Shape)}],\"data_offsets\":[{e.Begin},{e.End}]}}");
        if (metadata) parts = parts.Prepend("\"__metadata__\":{\"format\":\"pt\"}");
        return "{" + string.Join(",", parts) + "}";
    }

    /// <summary>One defect of kind 0–7 in an otherwise valid header.</summary>
    public static (string, byte[]) Break(string header, byte[] data, List<Entry> entries, int kind, Random rng)
    {
        var e = entries[rng.Next(entries.Count)];
        var others = entries.Where(x => x != e).ToList();
        long elements = (e.End - e.Begin) / e.ElementSize;
        return kind switch
        {
            0 => (Json(others.Append(e with { DType = new[] { "C64", "F8", "f32", "I8", "" }[rng.Next(5)] }), false), data),
            1 => (Json(others.Append(e with { Shape = [elements + 1] }), false), data),         // shape disagrees with the span
            2 => (header, [.. data, (byte)rng.Next(256)]),                                     // trailing bytes
            3 => (Json(others.Append(e with { Begin = e.Begin + 1, End = e.End + 1 }), false), [.. data, 0]),   // gap / overlap
            4 => (Json(others.Append(e with { Begin = -1 }), false), data),                     // negative offset
            5 => (Json(others.Append(e with { Begin = e.End + 1 }), false), data),              // begin after end
            6 => (Json(entries.Append(e), false), [.. data, .. new byte[e.End - e.Begin]]),     // duplicate key
            _ => (Json(others.Append(e with { Shape = [.. e.Shape, -2] }), false), data),      // negative dimension
        };
    }

    public static byte[] File(string header, byte[] data)
    {
        var h = Encoding.UTF8.GetBytes(header);
        return [.. BitConverter.GetBytes((long)h.Length), .. h, .. data];
    }
}
