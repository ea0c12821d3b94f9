using System.CommandLine;

namespace Tbar.Cli;

/// <summary>
/// --device and --threads: defined once on the root command (recursive, so every command takes them) and applied before
/// the command runs, so every tensor the command makes is made on the chosen device.
/// </summary>
static class ComputeFlags
{
    public static (Option<string?> Device, Option<int?> Threads) Create()
    {
        var device = new Option<string?>("--device")
        {
            Description = "Where tensors compute: cpu (default), cuda (an error when CUDA is absent) or auto (CUDA when available)",
            Recursive = true,
        };
        device.AcceptOnlyFromAmong([.. Compute.Devices]);
        var threads = new Option<int?>("--threads")
        {
            Description = "libtorch threads (torch.set_num_threads); default: libtorch's own", Recursive = true,
        };
        return (device, threads);
    }

    /// <summary>Applies the flags when given; with neither, nothing about libtorch is touched.</summary>
    public static void Apply(ParseResult parsed, Option<string?> device, Option<int?> threads)
    {
        string? name = parsed.GetValue(device);
        int? n = parsed.GetValue(threads);
        if (name != null || n != null) Compute.Apply(new ComputeOptions(name ?? "cpu", n));
    }
}
