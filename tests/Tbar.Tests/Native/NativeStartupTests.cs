using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Tbar.Tests.Native;

public class NativeStartupTests : TempFolder
{
    [Theory]
    [InlineData("AuthenticAMD", null, VendorFix.Active)]
    [InlineData("HygonGenuine", "1", VendorFix.Active)]
    [InlineData("GenuineIntel", null, VendorFix.InactiveIntel)]
    [InlineData("AuthenticAMD", "0", VendorFix.DisabledByEnvironment)]
    [InlineData("AuthenticAMD", " off", VendorFix.DisabledByEnvironment)]
    [InlineData("GenuineIntel", "0", VendorFix.DisabledByEnvironment)]
    [InlineData("", null, VendorFix.NotApplicable)]
    public void TheShimLoadsOnlyOnNonIntelX86AndNotWhenSwitchedOff(string vendor, string? switchValue, VendorFix expected) =>
        Assert.Equal(expected, NativeStartup.Decide(vendor, switchValue));

    [Fact]
    public void AShimTheBuildCouldNotMakeIsReportedWithTheBuildsReason()
    {
        var missing = NativeStartup.LoadVendorFix("AuthenticAMD", null, temp);
        Assert.Equal(VendorFix.ShimMissing, missing.VendorFix);
        Assert.Contains(NativeStartup.ShimFile, missing.Reason);
        File.WriteAllText(Path.Combine(temp, NativeStartup.UnavailableFile), "no C compiler was found\n");
        var unbuilt = NativeStartup.LoadVendorFix("AuthenticAMD", null, temp);
        Assert.Equal(VendorFix.ShimMissing, unbuilt.VendorFix);
        Assert.Contains("no C compiler was found", unbuilt.Reason);
        Assert.Equal(VendorFix.InactiveIntel, NativeStartup.LoadVendorFix("GenuineIntel", null, temp).VendorFix);
        Assert.Equal(VendorFix.DisabledByEnvironment, NativeStartup.LoadVendorFix("AuthenticAMD", "0", temp).VendorFix);
    }

    [Fact]
    public void CpuInfoReadsTheFirstProcessorsVendorModelAndIsa()
    {
        const string text = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9R14\nflags\t\t: fpu sse avx2 fma avx512f\n\n" +
                            "processor\t: 1\nvendor_id\t: GenuineIntel\n";
        var cpu = CpuInfo.Parse(text);
        Assert.Equal(("AuthenticAMD", "AMD EPYC 9R14"), (cpu.Vendor, cpu.Model));
        Assert.Equal(["avx2", "fma", "avx512f"], cpu.Isa);
    }

    [DllImport("libc", EntryPoint = "dlsym")]
    static extern IntPtr DlSym(IntPtr handle, string symbol);

    [NonIntelX86Fact]
    public void OnANonIntelCpuTheShimIsWhatOneMklAsks()
    {
        var state = NativeStartup.Initialize();
        Assert.True(state.VendorFixActive, $"{state.VendorFix}: {state.Reason}");
        IntPtr shim = NativeLibrary.Load(state.Shim!);
        // The process-wide lookup (what libtorch's unresolved call finds first) is the shim's function, not libtorch's own.
        Assert.Equal(NativeLibrary.GetExport(shim, "mkl_serv_intel_cpu_true"), DlSym(IntPtr.Zero, "mkl_serv_intel_cpu_true"));
        var calls = Marshal.GetDelegateForFunctionPointer<Count>(NativeLibrary.GetExport(shim, "tbar_shim_calls"));
        using var x = randn(512, 512);
        x.matmul(x).Dispose();
        Assert.True(calls() > 0, "oneMKL ran a matmul without asking the shim's vendor check");
    }

    delegate long Count();
}

/// <summary>A test of the oneMKL vendor fix, skipped where it does not apply (Intel, not x86-64 Linux, switched off).</summary>
public sealed class NonIntelX86FactAttribute : FactAttribute
{
    public NonIntelX86FactAttribute()
    {
        string vendor = CpuInfo.Read().Vendor;
        var decision = NativeStartup.Decide(vendor, Environment.GetEnvironmentVariable(NativeStartup.SwitchVariable));
        if (decision != VendorFix.Active) Skip = $"the oneMKL vendor fix does not apply here: {decision} (CPU vendor '{vendor}')";
    }
}
