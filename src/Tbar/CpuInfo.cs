namespace Tbar;

/// <summary>The CPU as /proc/cpuinfo names it: what speed depends on, and what decides the oneMKL vendor fix.</summary>
/// <param name="Vendor">vendor_id: "GenuineIntel", "AuthenticAMD", …; empty where the file has none (not x86, not Linux).</param>
/// <param name="Model">"model name", e.g. "AMD EPYC"; empty when absent.</param>
/// <param name="Isa">The instruction-set flags of <see cref="IsaOfInterest"/> that the CPU has, in that order.</param>
public sealed record CpuInfo(string Vendor, string Model, IReadOnlyList<string> Isa)
{
    /// <summary>The flags that decide which BLAS kernels can run: AVX2 with FMA, the AVX-512 families, AMX.</summary>
    public static readonly IReadOnlyList<string> IsaOfInterest = ["avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_tile"];

    const string ProcFile = "/proc/cpuinfo";

    /// <summary>This machine's CPU (every field empty where /proc/cpuinfo does not exist).</summary>
    public static CpuInfo Read() => File.Exists(ProcFile) ? Parse(File.ReadAllText(ProcFile)) : new("", "", []);

    /// <summary>The first processor's entry of a /proc/cpuinfo text.</summary>
    public static CpuInfo Parse(string text)
    {
        var fields = new Dictionary<string, string>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Trim().Length == 0 && fields.Count > 0) break;   // a blank line ends the first processor
            int colon = line.IndexOf(':');
            if (colon > 0) fields.TryAdd(line[..colon].Trim(), line[(colon + 1)..].Trim());
        }
        var flags = fields.GetValueOrDefault("flags", "").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        return new(fields.GetValueOrDefault("vendor_id", ""), fields.GetValueOrDefault("model name", ""),
            IsaOfInterest.Where(flags.Contains).ToList());
    }
}
