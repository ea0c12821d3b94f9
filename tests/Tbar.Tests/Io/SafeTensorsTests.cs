using System.Text;
using Tbar.Io;
using static TorchSharp.torch;

namespace Tbar.Tests.Io;

public class SafeTensorsTests : TempFolder
{
    string File(string name) => Path.Combine(temp, name);

    [Fact]
    public void EveryDTypeRoundTripsWithMetadata()
    {
        var tensors = new Dictionary<string, Tensor>
        {
            ["f64"] = tensor(new[] { 1.5, -2.25 }), ["f32"] = randn(2, 3, generator: new Generator(1)),
            ["f16"] = randn(4, generator: new Generator(2)).to(ScalarType.Float16),
            ["bf16"] = randn(3, 1, generator: new Generator(3)).to(ScalarType.BFloat16),
            ["i64"] = tensor(new long[] { long.MinValue, 7 }), ["i32"] = tensor(new[] { -1, 2, 3 }),
            ["u8"] = tensor(new byte[] { 0, 255 }), ["bool"] = tensor(new[] { true, false, true }),
            ["scalar"] = tensor(3.5f), ["empty"] = zeros(0, 4),
        };
        var meta = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode" };
        SafeTensors.Save(File("a.safetensors"), tensors, meta);

        var file = SafeTensors.Open(File("a.safetensors"));
        Assert.Equal(meta, file.Metadata);
        Assert.Equal(tensors.Keys.Order(StringComparer.Ordinal), file.Entries.Select(e => e.Name));
        foreach (var (name, t) in tensors)
        {
            using var back = file.ReadTensor(name);
            Assert.Equal(t.dtype, back.dtype);
            Assert.Equal(t.shape, back.shape);
            Assert.True(t.eq(back).all().item<bool>(), name);
        }
    }

    [Fact]
    public void HeaderIsAlignedSortedAndFollowedByData()
    {
        SafeTensors.Save(File("b.safetensors"), new Dictionary<string, Tensor> { ["z"] = ones(3), ["a"] = zeros(1) });
        var bytes = System.IO.File.ReadAllBytes(File("b.safetensors"));
        long n = BitConverter.ToInt64(bytes, 0);
        Assert.Equal(0, n % 8);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)n);
        Assert.True(header.IndexOf("\"a\"", StringComparison.Ordinal) < header.IndexOf("\"z\"", StringComparison.Ordinal));
        Assert.Equal(8 + n + 16, bytes.Length);
        Assert.Equal(0f, BitConverter.ToSingle(bytes, (int)(8 + n)));
        Assert.Equal(1f, BitConverter.ToSingle(bytes, (int)(8 + n + 4)));
    }

    [FixtureFact]
    public void ReferenceFileRewritesBitForBit()
    {
        string source = Path.Combine(Fixtures.Dir("clip-tiny-quickgelu"), "hf", "model.safetensors");
        var before = System.IO.File.GetLastWriteTimeUtc(source);
        var file = SafeTensors.Open(source);
        SafeTensors.Save(File("c.safetensors"), SafeTensors.Load(source), file.Metadata);
        Tbar.Tests.Models.CheckpointTests.AssertSameTensors(source, File("c.safetensors"));
        Assert.Equal(before, System.IO.File.GetLastWriteTimeUtc(source));
    }

    [Fact]
    public void SaveIsAtomicAndLeavesNoTemporaryFiles()
    {
        string path = File("d.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["x"] = ones(2) });
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["y"] = zeros(3) });
        Assert.Equal(["y"], SafeTensors.Open(path).Entries.Select(e => e.Name));
        var original = System.IO.File.ReadAllBytes(path);
        var e = Assert.Throws<TbarException>(() =>
            SafeTensors.Save(path, new Dictionary<string, Tensor> { ["bad"] = ones(2, dtype: ScalarType.Int16) }));
        Assert.Contains("bad", e.Message);
        Assert.Equal(original, System.IO.File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(temp));
        // A fault while the data is streamed, i.e. after the temporary file exists and holds the header and "a": a
        // meta-device tensor has no data to copy. A non-atomic writer would leave d.safetensors truncated here.
        Assert.ThrowsAny<Exception>(() => SafeTensors.Save(path, new Dictionary<string, Tensor>
        {
            ["a"] = ones(1000), ["z"] = empty(4, device: new Device("meta")),
        }));
        Assert.Equal(original, System.IO.File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(temp));
    }

    [Fact]
    public void AFailingWriterLeavesTheOldFileAndNoTemporaryFile()
    {
        string path = File("e.bin");
        AtomicFile.WriteBytes(path, [1, 2, 3]);
        bool sawTemporary = false;
        Assert.Throws<TbarException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[100]);
            s.Flush();
            sawTemporary = Directory.GetFiles(temp).Any(f => Path.GetFileName(f).StartsWith(".e.bin.") && f.EndsWith(".tmp"));
            throw new IOException("disk full (injected)");
        }));
        Assert.True(sawTemporary);
        Assert.Equal([1, 2, 3], System.IO.File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(temp));
    }

    [Fact]
    public void TemporaryFilesOfKilledWritersAreRemovedByTheNextWrite()
    {
        string path = File("f.json");
        string stale = File(".f.json.999999999.0123456789abcdef0123456789abcdef.tmp");
        System.IO.File.WriteAllText(stale, "half");
        AtomicFile.WriteText(path, "{}");
        Assert.False(System.IO.File.Exists(stale));
    }

    public static TheoryData<string, byte[], string> Malformed()
    {
        const string ok = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        var data = new byte[8];
        return new TheoryData<string, byte[], string>
        {
            { "too-short", [1, 2, 3], "shorter than the 8-byte header length" },
            { "zero-header", Raw(0, [], []), "header length 0 is out of range" },
            { "header-beyond-file", Raw(1000, Encoding.UTF8.GetBytes(ok), data), "out of range" },
            { "huge-header", Raw(long.MaxValue, [], []), "out of range" },
            { "invalid-json", Build("{\"x\": ", data), "not valid JSON" },
            { "json-array", Build("[1, 2]", data), "not a JSON object" },
            { "unknown-dtype", Build(ok.Replace("F32", "C64"), data), "unsupported dtype \"C64\"" },
            { "negative-shape", Build(ok.Replace("[2]", "[-2]"), data), "not a non-negative integer" },
            { "size-mismatch", Build(ok.Replace("[2]", "[3]"), data), "needs 12 bytes but data_offsets span 8" },
            { "beyond-data", Build(ok.Replace("[0,8]", "[8,16]"), [.. data, .. data]) , "gap of 8 unused bytes" },
            { "offsets-past-end", Build(ok.Replace("[2]", "[4]").Replace("[0,8]", "[0,16]"), data), "beyond the data section" },
            { "overlap", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", data), "overlaps" },
            { "trailing-bytes", Build(ok, [.. data, 1, 2]), "2 trailing bytes" },
            { "duplicate-key", Build("{\"x\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},\"x\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}", data), "duplicate key 'x'" },
            { "bad-metadata", Build("{\"__metadata__\":{\"a\":1}," + ok[1..], data), "__metadata__ value 'a' is not a string" },
            { "missing-offsets", Build("{\"x\":{\"dtype\":\"F32\",\"shape\":[2]}}", data), "missing field 'data_offsets'" },
            { "shape-overflow", Build(ok.Replace("[2]", "[4611686018427387904,4]"), data), "overflows" },
            { "extra-field", Build(ok.Replace("\"dtype\"", "\"foo\":1,\"dtype\""), data), "unexpected field 'foo'" },
        };
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedFilesGiveOneClearError(string name, byte[] content, string problem)
    {
        string path = File(name + ".safetensors");
        System.IO.File.WriteAllBytes(path, content);
        var e = Assert.Throws<TbarException>(() => SafeTensors.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(problem, e.Message);
        var stderr = new StringWriter();
        Assert.Equal(1, Tbar.Cli.TbarCli.Run(["inspect", "--model", path], new StringWriter(), stderr));
        Assert.Contains(problem, stderr.ToString());
        Assert.Equal(content, System.IO.File.ReadAllBytes(path));
    }

    [Fact]
    public void TensorsAreReadFromTheFileWhenAskedAndAFileChangedSinceOpeningIsAnError()
    {
        string path = File("d.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["a"] = tensor(new[] { 1f, 2f }), ["b"] = tensor(new[] { 3f }) });
        var file = SafeTensors.Open(path);
        Assert.Equal(new[] { 1f, 2f }, file.ReadTensor("a").data<float>().ToArray());
        System.IO.File.WriteAllBytes(path, System.IO.File.ReadAllBytes(path)[..^4]);
        var e = Assert.Throws<TbarException>(() => file.ReadTensor("b"));
        Assert.Contains(path, e.Message);
        Assert.Contains("changed while being read", e.Message);
    }

    static byte[] Build(string header, byte[] data) => Raw(Encoding.UTF8.GetByteCount(header), Encoding.UTF8.GetBytes(header), data);

    static byte[] Raw(long headerLength, byte[] header, byte[] data) => [.. BitConverter.GetBytes(headerLength), .. header, .. data];
}
