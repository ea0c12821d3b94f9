using System.CommandLine;

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
        // First, before libtorch allocates anything: the check needs a heap without a large free chunk.
        bool? mapped = NativeStartup.LargeBlocksAreMapped();
        var native = NativeStartup.Initialize();
        var cpu = CpuInfo.Read();
        stdout.WriteLine($"cpu: {cpu.Model} ({cpu.Vendor}; {string.Join(' ', cpu.Isa)}), {Environment.ProcessorCount} logical cores");
        stdout.WriteLine($"mkl vendor fix: {native.VendorFix}: {native.Reason}");
        stdout.WriteLine($"malloc settings: {native.Allocator}");
        stdout.WriteLine("large blocks mapped: " + mapped switch
        {
            true => "yes",
            false => "no (freed activations stay in the heap; set by the environment, or glibc ignored mallopt)",
            null => "not glibc",
        });
        return 0;
    }
}
