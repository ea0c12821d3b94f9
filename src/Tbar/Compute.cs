using TorchSharp;
using static TorchSharp.torch;

namespace Tbar;

/// <summary>Where tensors are made and how many threads libtorch uses; a command applies them once, at its start.</summary>
/// <param name="Device">"cpu", "cuda" (an error when CUDA is absent) or "auto" (CUDA when TorchSharp reports it, else CPU).</param>
/// <param name="Threads">libtorch's intra-op threads (torch.set_num_threads); null leaves libtorch's default.</param>
public sealed record ComputeOptions(string Device = "cpu", int? Threads = null);

/// <summary>
/// The process's compute settings. <see cref="Apply"/> makes the chosen device torch's default device, so every tensor
/// and parameter made by a factory after it lands there; the few places that must sample or read on the CPU (seeded
/// generators, byte read-backs) go through <see cref="FromCpu"/> and <c>.cpu()</c>.
/// </summary>
public static class Compute
{
    /// <summary>The device names <see cref="ComputeOptions.Device"/> takes.</summary>
    public static readonly IReadOnlyList<string> Devices = ["cpu", "cuda", "auto"];

    /// <summary>The device tensors are made on (CPU until <see cref="Apply"/> says otherwise).</summary>
    public static Device Device { get; private set; } = CPU;

    /// <summary>Whether compute runs on something other than the CPU.</summary>
    public static bool OffCpu => Device.type != DeviceType.CPU;

    /// <summary>Resolves and applies <paramref name="o"/>; throws a <see cref="TbarException"/> naming the problem.</summary>
    public static void Apply(ComputeOptions o)
    {
        if (o.Threads is int n)
        {
            if (n < 1) throw new TbarException($"--threads must be at least 1 (got {n})");
            set_num_threads(n);
        }
        if (Resolve(o.Device, cuda.is_available) == "cpu") return;
        Device = CUDA;
        set_default_device(Device);
    }

    /// <summary>The device ("cpu" or "cuda") a name stands for, given whether CUDA is available.</summary>
    public static string Resolve(string name, Func<bool> cudaAvailable) => name switch
    {
        "cpu" => "cpu",
        "auto" => cudaAvailable() ? "cuda" : "cpu",
        "cuda" => cudaAvailable() ? "cuda" : throw new TbarException("--device cuda: CUDA is not available (TorchSharp reports " +
            "torch.cuda.is_available() = false: no GPU, or this build links the CPU-only libtorch package; see the README's " +
            "'GPU builds')"),
        _ => throw new TbarException($"unknown device '{name}' (valid: {string.Join(", ", Devices)})"),
    };

    /// <summary>
    /// <paramref name="make"/>'s tensor, made on the CPU (seeded CPU generators, so the numbers do not depend on the device)
    /// and moved to <see cref="Device"/>; on the CPU it is returned as made.
    /// </summary>
    public static Tensor FromCpu(Func<Tensor> make)
    {
        if (!OffCpu) return make();
        set_default_device(CPU);
        try
        {
            using var made = make();
            return made.to(Device);
        }
        finally
        {
            set_default_device(Device);
        }
    }
}
