using System.Runtime.InteropServices;
using static TorchSharp.torch;

/// <summary>
/// The BLAS libtorch runs on and the kernel family it picked, asked from libtorch_cpu.so's own oneMKL exports.
/// MKL_VERBOSE's first line names only "Intel(R) Architecture processors" in this oneMKL build, with or without the vendor
/// fix, so the code path is mkl_serv_cpu_detect()'s answer: 0 the generic kernels, 7 the AVX-512 ones (docs/speed.md).
/// </summary>
sealed record BlasInfo(string Library, int? MklCpuCode)
{
    delegate void VersionString(byte[] buffer, int length);
    delegate int Detect();

    public static BlasInfo Read()
    {
        get_num_threads();   // loads libtorch, whose soname the lookup below finds
        if (!NativeLibrary.TryLoad("libtorch_cpu.so", out var torchCpu)) return new("libtorch_cpu.so not found", null);
        string library = NativeLibrary.TryGetExport(torchCpu, "MKL_Get_Version_String", out var version)
            ? VersionText(Marshal.GetDelegateForFunctionPointer<VersionString>(version))
            : "not oneMKL (libtorch_cpu.so exports no MKL_Get_Version_String)";
        int? code = NativeLibrary.TryGetExport(torchCpu, "mkl_serv_cpu_detect", out var detect)
            ? Marshal.GetDelegateForFunctionPointer<Detect>(detect)()
            : null;
        return new(library, code);
    }

    static string VersionText(VersionString call)
    {
        var buffer = new byte[512];
        call(buffer, buffer.Length);
        return System.Text.Encoding.ASCII.GetString(buffer).TrimEnd('\0').Trim();
    }
}
