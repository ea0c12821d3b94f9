using System.CommandLine;

namespace Tbar.Cli;

/// <summary>
/// --device, --threads and --activation-budget: defined once on the root command (recursive, so every command takes them)
/// and applied before the command runs, so every tensor the command makes is made on the chosen device.
/// </summary>
sealed record ComputeFlags(Option<string?> Device, Option<int?> Threads, Option<int?> ActivationBudget)
{
    public static ComputeFlags Create()
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
        var budget = new Option<int?>("--activation-budget")
        {
            Description = "MiB of forward-pass tensors a training step's thread blocks may hold at once; beyond it they take turns " +
                $"(same results, less memory, one thread's speed); default {Shards.DefaultActivationBudget >> 20}",
            Recursive = true,
        };
        budget.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is < 1) r.AddError("--activation-budget must be at least 1 (MiB)");
        });
        return new(device, threads, budget);
    }

    /// <summary>Applies the flags when given; with neither, nothing about libtorch is touched.</summary>
    public void Apply(ParseResult parsed)
    {
        string? name = parsed.GetValue(Device);
        int? n = parsed.GetValue(Threads);
        if (name != null || n != null) Compute.Apply(new ComputeOptions(name ?? "cpu", n));
        if (parsed.GetValue(ActivationBudget) is { } mib) Shards.ActivationBudget = (long)mib << 20;
    }
}
