using Tbar.Cli;
using TorchSharp;
using static TorchSharp.torch;

namespace Tbar.Tests.Cli;

/// <summary>Tests that change libtorch's process-wide settings run alone, so no other test computes meanwhile.</summary>
[CollectionDefinition("libtorch settings", DisableParallelization = true)]
public class LibtorchSettings;

/// <summary>--device and --threads: parsed once on the root command, applied before the command runs.</summary>
[Collection("libtorch settings")]
public class ComputeFlagTests
{
    static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = TbarCli.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    static string MiniClip => Path.Combine(Fixtures.RepoRoot, "models", "mini-clip");

    [Fact]
    public void CudaAskedForWithoutCudaIsAClearErrorAndExitOne()
    {
        Assert.False(cuda.is_available(), "this test expects the CPU-only build");
        var (code, _, err) = Run("inspect", "--model", MiniClip, "--device", "cuda");
        Assert.Equal(1, code);
        Assert.Contains("--device cuda: CUDA is not available", err);
        Assert.Equal(DeviceType.CPU, Compute.Device.type);
    }

    [Fact]
    public void AutoAndCpuRunOnTheCpuHere()
    {
        foreach (var device in new[] { "auto", "cpu" })
        {
            var (code, _, err) = Run("inspect", "--model", MiniClip, "--device", device);
            Assert.True(code == 0, err);
            Assert.Equal(DeviceType.CPU, Compute.Device.type);
        }
    }

    [Fact]
    public void ThreadsTakeEffect()
    {
        int before = get_num_threads();
        int wanted = before == 1 ? 2 : 1;
        try
        {
            var (code, _, err) = Run("inspect", "--model", MiniClip, "--threads", wanted.ToString());
            Assert.True(code == 0, err);
            Assert.Equal(wanted, get_num_threads());
        }
        finally
        {
            set_num_threads(before);
        }
    }

    [Theory]
    [InlineData("--device", "gpu", "gpu")]
    [InlineData("--threads", "0", "--threads must be at least 1")]
    [InlineData("--threads", "many", "many")]
    public void BadValuesAreErrorsNamingThem(string flag, string value, string named)
    {
        int before = get_num_threads();
        var (code, _, err) = Run("eval", "--model", MiniClip, flag, value);
        Assert.Equal(1, code);
        Assert.Contains(named, err);
        Assert.Equal(before, get_num_threads());
    }

    [Fact]
    public void AutoPicksCudaWhenAvailableAndAnUnknownNameListsTheValidOnes()
    {
        Assert.Equal("cuda", Compute.Resolve("auto", () => true));
        Assert.Equal("cpu", Compute.Resolve("auto", () => false));
        Assert.Equal("cuda", Compute.Resolve("cuda", () => true));
        var e = Assert.Throws<TbarException>(() => Compute.Resolve("tpu", () => false));
        Assert.Contains("cpu, cuda, auto", e.Message);
    }
}
