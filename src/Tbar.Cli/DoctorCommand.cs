using System.CommandLine;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Tbar.Cli;

/// <summary><c>tbar doctor</c>: what this machine gives Tbar, and whether the start-up settings (docs/speed.md, docs/checkpoints.md) took.</summary>
static class DoctorCommand
{
    public static Command Create(TextWriter stdout)
    {
        var command = new Command("doctor",
            "Report the CPU, the oneMKL vendor fix and the malloc settings, and check that large blocks are mapped for themselves.");
        command.SetAction(_ => Run(stdout));
        return command;
    }

    static int Run(TextWriter stdout)
    {
        // What building a large model does (NativeStartup.FitAllocator), then the check, before libtorch allocates anything:
        // it needs a heap without a large free chunk.
        NativeStartup.FitAllocator(NativeStartup.LeanFromParameters);
        bool? mapped = NativeStartup.LargeBlocksAreMapped();
        var native = NativeStartup.Initialize();
        var cpu = CpuInfo.Read();
        stdout.WriteLine($"cpu: {cpu.Model} ({cpu.Vendor}; {string.Join(' ', cpu.Isa)}), {Environment.ProcessorCount} logical cores");
        stdout.WriteLine($"mkl vendor fix: {native.VendorFix}: {native.Reason}");
        stdout.WriteLine($"malloc settings: {native.Allocator}");
        stdout.WriteLine($"lean allocator: for image towers of {NativeStartup.LeanFromParameters:N0} parameters or more " +
            $"({NativeStartup.AllocatorSwitchVariable}={NativeStartup.LeanAlways}: always; =0: never)");
        stdout.WriteLine("large blocks mapped under it: " + mapped switch
        {
            true => "yes",
            false => "no (freed activations stay in the heap; set by the environment, or glibc ignored mallopt)",
            null => "not glibc",
        });
        stdout.WriteLine($"huge pages: {native.HugePages}");
        // A tensor above libtorch's huge-page size: its memory is marked for huge pages only if libtorch read the variable
        // (on for a large model named on the command line or with TBAR_MALLOC_TUNING=lean; doctor names none).
        using (var probe = zeros(4 << 20, dtype: ScalarType.Float32))
            stdout.WriteLine("large tensors on huge pages: " + NativeStartup.HugePageEligible(DataAddress(probe)) switch
            {
                true => "yes",
                false => "no",
                null => "unknown (no /proc/self/smaps)",
            });
        return 0;
    }

    [DllImport("LibTorchSharp", EntryPoint = "THSTensor_data")]
    static extern IntPtr DataAddress(IntPtr tensor);

    static IntPtr DataAddress(Tensor tensor) => DataAddress(tensor.Handle);
}
