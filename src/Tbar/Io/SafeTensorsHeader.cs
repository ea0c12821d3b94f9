using System.Text.Json;

namespace Tbar.Io;

/// <summary>Element types of the safetensors format that Tbar reads and writes (JSON spellings are the names).</summary>
public enum SafeDType { F64, F32, F16, BF16, I64, I32, U8, BOOL }

/// <summary>One tensor of a safetensors file; Begin/End are byte offsets into the data section.</summary>
public sealed record SafeTensorEntry(string Name, SafeDType DType, long[] Shape, long Begin, long End);

/// <summary>Parses and validates a safetensors header before any tensor memory is allocated.</summary>
static class SafeTensorsHeader
{
    /// <summary>Header length bound (the reference reader's is 100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    public static int ElementSize(SafeDType t) => t switch
    {
        SafeDType.F64 or SafeDType.I64 => 8,
        SafeDType.F32 or SafeDType.I32 => 4,
        SafeDType.F16 or SafeDType.BF16 => 2,
        _ => 1,
    };

    /// <summary>Parses the header JSON; checks every entry and that the entries tile [0, dataLength) exactly.</summary>
    public static (List<SafeTensorEntry> Entries, Dictionary<string, string> Metadata) Parse(byte[] header, long dataLength, string path)
    {
        if (header.Length == 0 || header[0] != (byte)'{') throw Bad(path, "header is not a JSON object (must start with '{')");
        // System.Text.Json defers UTF-8 validation of names and strings to when they are read; check the bytes up front.
        if (!System.Text.Unicode.Utf8.IsValid(header)) throw Bad(path, "header is not valid UTF-8");
        try
        {
            return ParseJson(header, dataLength, path);
        }
        catch (InvalidOperationException e)
        {
            throw Bad(path, $"header holds text JSON cannot decode ({e.Message})");
        }
    }

    static (List<SafeTensorEntry>, Dictionary<string, string>) ParseJson(byte[] header, long dataLength, string path)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw Bad(path, $"header is not valid JSON ({e.Message})");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad(path, "header is not a JSON object");
            var entries = new List<SafeTensorEntry>();
            var metadata = new Dictionary<string, string>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(p.Name)) throw Bad(path, $"duplicate key '{p.Name}' in header");
                if (p.Name == "__metadata__") metadata = Metadata(p.Value, path);
                else entries.Add(Entry(p.Name, p.Value, path));
            }
            CheckTiling(entries, dataLength, path);
            entries.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            return (entries, metadata);
        }
    }

    static Dictionary<string, string> Metadata(JsonElement value, string path)
    {
        if (value.ValueKind != JsonValueKind.Object) throw Bad(path, "__metadata__ must be an object of strings");
        var result = new Dictionary<string, string>();
        foreach (var p in value.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String) throw Bad(path, $"__metadata__ value '{p.Name}' is not a string");
            result[p.Name] = p.Value.GetString()!;
        }
        return result;
    }

    static SafeTensorEntry Entry(string name, JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Object) throw Bad(path, $"tensor '{name}': entry is not an object");
        var fields = e.EnumerateObject().Select(p => p.Name).ToList();
        var extra = fields.Except(["dtype", "shape", "data_offsets"]).ToList();
        if (extra.Count > 0) throw Bad(path, $"tensor '{name}': unexpected field '{extra[0]}'");
        foreach (var f in new[] { "dtype", "shape", "data_offsets" })
            if (!fields.Contains(f)) throw Bad(path, $"tensor '{name}': missing field '{f}'");
        var dtype = DType(name, e.GetProperty("dtype"), path);
        var shape = Integers(name, "shape", e.GetProperty("shape"), path);
        var offsets = Integers(name, "data_offsets", e.GetProperty("data_offsets"), path);
        if (offsets.Length != 2 || offsets[0] > offsets[1])
            throw Bad(path, $"tensor '{name}': data_offsets must be [begin, end] with begin ≤ end");
        long bytes = ByteSize(name, dtype, shape, path);
        if (bytes != offsets[1] - offsets[0])
            throw Bad(path, $"tensor '{name}': shape [{string.Join(",", shape)}] × {dtype} needs {bytes} bytes but data_offsets span {offsets[1] - offsets[0]}");
        return new SafeTensorEntry(name, dtype, shape, offsets[0], offsets[1]);
    }

    static SafeDType DType(string name, JsonElement v, string path)
    {
        string? s = v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        if (s != null && Enum.TryParse<SafeDType>(s, ignoreCase: false, out var t) && Enum.IsDefined(t) && s == t.ToString()) return t;
        throw Bad(path, $"tensor '{name}': unsupported dtype {v.GetRawText()} (supported: {string.Join(", ", Enum.GetNames<SafeDType>())})");
    }

    static long[] Integers(string name, string field, JsonElement v, string path)
    {
        if (v.ValueKind != JsonValueKind.Array) throw Bad(path, $"tensor '{name}': {field} is not an array");
        var result = new List<long>();
        foreach (var x in v.EnumerateArray())
        {
            if (x.ValueKind != JsonValueKind.Number || !x.TryGetInt64(out long n) || n < 0)
                throw Bad(path, $"tensor '{name}': {field} holds {x.GetRawText()}, not a non-negative integer");
            result.Add(n);
        }
        return result.ToArray();
    }

    static long ByteSize(string name, SafeDType dtype, long[] shape, string path)
    {
        try
        {
            return shape.Aggregate((long)ElementSize(dtype), (acc, d) => checked(acc * d));
        }
        catch (OverflowException)
        {
            throw Bad(path, $"tensor '{name}': shape [{string.Join(",", shape)}] overflows a 64-bit byte count");
        }
    }

    // Sorted by begin, the tensors must cover the data section exactly: no overlap, no gap, nothing after the last.
    static void CheckTiling(List<SafeTensorEntry> entries, long dataLength, string path)
    {
        long at = 0;
        foreach (var e in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (e.End > dataLength) throw Bad(path, $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] go beyond the data section ({dataLength} bytes)");
            if (e.Begin < at) throw Bad(path, $"tensor '{e.Name}': data overlaps the previous tensor (begins at {e.Begin}, previous ends at {at})");
            if (e.Begin > at) throw Bad(path, $"tensor '{e.Name}': gap of {e.Begin - at} unused bytes before it");
            at = e.End;
        }
        if (at != dataLength) throw Bad(path, $"{dataLength - at} trailing bytes after the last tensor");
    }

    public static TbarException Bad(string path, string problem) => new($"{path}: malformed safetensors file: {problem}");

    /// <summary>Header JSON for entries already laid out, padded with spaces to a multiple of 8 bytes.</summary>
    public static byte[] Write(IEnumerable<SafeTensorEntry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal)) w.WriteString(k, v);
                w.WriteEndObject();
            }
            foreach (var e in entries)
            {
                w.WriteStartObject(e.Name);
                w.WriteString("dtype", e.DType.ToString());
                w.WriteStartArray("shape");
                foreach (var d in e.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(e.Begin);
                w.WriteNumberValue(e.End);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        int pad = (int)((8 - stream.Length % 8) % 8);
        return [.. stream.ToArray(), .. Enumerable.Repeat((byte)' ', pad)];
    }
}
