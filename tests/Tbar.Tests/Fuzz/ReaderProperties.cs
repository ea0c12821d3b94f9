using FsCheck;
using FsCheck.Xunit;
using Tbar.Fuzz;
using Tbar.Io;
using static TorchSharp.torch;

namespace Tbar.Tests.Fuzz;

/// <summary>
/// Property-based tests of the readers of untrusted files, 1,000 generated cases each: every input is either accepted
/// or rejected with a TbarException naming it, never another exception. Inputs are mutations (Mutator, shared with
/// scripts/fuzz.sh) of valid seeds, drawn from the case number FsCheck generates.
/// </summary>
public class ReaderProperties
{
    const int Cases = 1000;
    static readonly string Scratch = Directory.CreateTempSubdirectory("tbar-properties-").FullName;
    static readonly Target SafeTensorsReader = Targets.SafeTensorsReader(Scratch);
    static readonly Target ImageDecoder = Targets.ImageDecoder();
    static readonly Target Rn50Checkpoint = Targets.Rn50Checkpoint(Scratch);
    static readonly Target InvertedWarpReader = Targets.InvertedWarpReader(Scratch);

    /// <summary>Runs <paramref name="read"/>; true when it accepted, false when it gave a clear error naming <paramref name="name"/>.</summary>
    public static bool AcceptsOrRejectsClearly(Action read, string name)
    {
        // An empty name would make the check below pass for any message.
        Assert.False(string.IsNullOrEmpty(name), "the error's expected subject must be named");
        try
        {
            read();
            return true;
        }
        catch (TbarException e)
        {
            Assert.Contains(name, e.Message);
            return false;
        }
    }

    static void Mutated(Target target, int caseSeed)
    {
        var input = Mutator.Mutate(target.Seeds[(caseSeed & int.MaxValue) % target.Seeds.Count], caseSeed);
        string name = $"case-{caseSeed}";
        AcceptsOrRejectsClearly(() => target.Read(input, name), name);
    }

    [Property(MaxTest = Cases)]
    public void MutatedSafeTensorsFilesAreReadOrRejectedClearly(DoNotSize<int> caseSeed) => Mutated(SafeTensorsReader, caseSeed.Item);

    [Property(MaxTest = Cases)]
    public void MutatedImagesAreDecodedOrRejectedClearly(DoNotSize<int> caseSeed) => Mutated(ImageDecoder, caseSeed.Item);

    [Property(MaxTest = Cases)]
    public void MutatedRn50CheckpointsLoadOrGiveAClearError(DoNotSize<int> caseSeed) => Mutated(Rn50Checkpoint, caseSeed.Item);

    [Property(MaxTest = Cases)]
    public void MutatedInvertedWarpsAreReadOrRejectedClearly(DoNotSize<int> caseSeed) => Mutated(InvertedWarpReader, caseSeed.Item);

    static readonly SafeDType[] DTypes = Enum.GetValues<SafeDType>();

    [Property(MaxTest = Cases)]
    public void AnyTensorSetRoundTripsBitForBit(DoNotSize<int> caseSeed)
    {
        var rng = new Random(caseSeed.Item);
        var tensors = Enumerable.Range(0, rng.Next(1, 5)).ToDictionary(i => $"t{i}.{rng.Next(100)}", _ => RandomTensor(rng));
        string path = Path.Combine(Scratch, $"roundtrip-{Environment.CurrentManagedThreadId}.safetensors");
        SafeTensors.Save(path, tensors, rng.Next(2) == 0 ? null : new Dictionary<string, string> { ["k"] = $"v{rng.Next()}" });
        var file = SafeTensors.Open(path);
        Assert.Equal(tensors.Keys.Order(StringComparer.Ordinal), file.Entries.Select(e => e.Name));
        foreach (var (name, t) in tensors)
        {
            using var back = file.ReadTensor(name);
            Assert.Equal(t.shape, back.shape);
            Assert.Equal(t.dtype, back.dtype);
            Assert.Equal(t.contiguous().bytes.ToArray(), back.bytes.ToArray());
        }
    }

    static Tensor RandomTensor(Random rng)
    {
        var shape = Enumerable.Range(0, rng.Next(0, 4)).Select(_ => (long)rng.Next(0, 4)).ToArray();
        var dtype = SafeTensors.ScalarTypeOf(DTypes[rng.Next(DTypes.Length)]);
        using var values = randn(shape, generator: new Generator((ulong)rng.Next())) * 100;
        return values.to(dtype);
    }

    /// <summary>
    /// Generated headers with a known answer: a valid layout is accepted with exactly its entries; one injected defect
    /// (bad dtype, shape/size mismatch, gap, overlap, out of range, trailing bytes, duplicate) is rejected.
    /// </summary>
    [Property(MaxTest = Cases)]
    public void GeneratedHeadersAreAcceptedExactlyWhenValid(DoNotSize<int> caseSeed)
    {
        var rng = new Random(caseSeed.Item);
        var (header, data, entries) = Headers.Valid(rng);
        int defect = rng.Next(9);   // 0–7: a defect; 8: none
        if (defect < 8) (header, data) = Headers.Break(header, data, entries, defect, rng);
        var bytes = Headers.File(header, data);
        string name = $"header-{caseSeed.Item}";
        bool accepted = AcceptsOrRejectsClearly(() =>
        {
            var file = SafeTensorsFile.Read(new MemoryStream(bytes), name);
            Assert.Equal(entries.Select(e => e.Name).Order(StringComparer.Ordinal), file.Entries.Select(e => e.Name));
        }, name);
        Assert.Equal(defect == 8, accepted);
    }
}
