using System.Diagnostics;
using Tbar.Io;
using Tbar.Models;
using Tbar.Tests.Unlearning;
using Tbar.Unlearning;
using static TorchSharp.torch;

namespace Tbar.Tests.Models;

/// <summary>What keeps `tbar unlearn` on a ViT-B/32 under its memory goal: each saving gives the same bits as before.</summary>
public sealed class MemoryTests : TempFolder
{
    static bool Same(Tensor a, Tensor b) => a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Fact]
    public void QuickGelusLeanFunctionGivesAutogradsValuesAndGradientsBitForBit()
    {
        var gen = new Generator(3);
        // Wide values: σ saturates at both ends, where an operation out of order would round differently.
        using var values = randn(4, 50, 3072, generator: gen) * 6;
        using var upstream = randn(4, 50, 3072, generator: gen);
        (Tensor Y, Tensor Grad) Run(Func<Tensor, Tensor> f)
        {
            using var x = values.detach().clone().requires_grad_(true);
            var y = f(x);
            y.backward([upstream]);
            return (y.detach(), x.grad!.detach().clone());
        }
        var plain = Run(QuickGelu.WrittenOut);
        var lean = Run(QuickGelu.Apply);
        Assert.True(Same(plain.Y, lean.Y), "forward values differ");
        Assert.True(Same(plain.Grad, lean.Grad), "gradients differ");
        Assert.True(QuickGelu.Applications > 0, "the lean function never ran");
    }

    [Fact]
    public void SpilledTensorsComeBackWithTheirBytesDtypeAndShapeAndTheFileGoes()
    {
        var tensors = new Dictionary<string, Tensor>
        {
            ["a"] = randn(3, 4), ["b.half"] = randn(5).to(ScalarType.Float16), ["c"] = empty(0, 7),
        };
        string path;
        using (var spill = SpilledTensors.Write(tensors))
        {
            path = spill.Path;
            Assert.True(File.Exists(path));
            Assert.Equal(["a", "b.half", "c"], spill.Keys);
            foreach (var (key, value) in tensors) using (var back = spill.Read(key)) Assert.True(Same(value, back), key);
        }
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void AFineTuneVectorFromASpilledBaseEqualsOneFromACopyInMemory()
    {
        using var model = ClipCheckpoint.Load(TbarRegressionTests.MiniClip());
        var start = VisualWeights.Snapshot(model);
        void Train()
        {
            using var guard = no_grad();
            var gen = new Generator(1);
            foreach (var p in model.Visual.parameters()) p.add_(randn(p.shape, generator: gen) * 1e-3);
        }
        var spilled = FineTuneVectors.FineTuneVector(model, Train, null);
        Assert.True(VisualWeights.Snapshot(model).All(p => Same(p.Value, start[p.Key])), "the model is not back at θ_b");
        var copy = VisualWeights.Snapshot(model);
        Train();
        var inMemory = VisualWeights.RestoreTakingChange(model, copy);
        Assert.Equal(inMemory.Keys.Order(), spilled.Keys.Order());
        foreach (var key in inMemory.Keys) Assert.True(Same(inMemory[key], spilled[key]), key);
    }

    [Fact]
    public void AParkedTextTowerFreesItsWeightsRefusesToBeUsedOrWrittenAndComesBackBitForBit()
    {
        using var model = ClipCheckpoint.Load(TbarRegressionTests.MiniClip());
        var before = model.Parameters().ToDictionary(p => p.Key, p => p.Value.detach().clone());
        using var tokens = zeros(2, 8, dtype: ScalarType.Int64);
        using var embedded = model.EncodeText(tokens);
        using (var parked = ParkedText.Park(model))
        {
            Assert.True(model.TextParked);
            Assert.All(model.TextParameters().Values, p => Assert.Equal(0, p.numel()));
            Assert.All(model.Visual.parameters(), p => Assert.NotEqual(0, p.numel()));
            Assert.NotEqual(0, model.Parameters()["logit_scale"].numel());
            Assert.Throws<TbarException>(() => model.EncodeText(tokens));
            Assert.Throws<TbarException>(() => ClipCheckpoint.WriteInto(model, temp));
            Assert.Throws<TbarException>(() => ParkedText.Park(model));
            parked.Restore();
        }
        Assert.False(model.TextParked);
        foreach (var (key, value) in model.Parameters()) Assert.True(Same(before[key], value), key);
        using var again = model.EncodeText(tokens);
        Assert.True(Same(embedded, again));
    }
}

/// <summary>The glibc malloc settings of <see cref="NativeStartup"/>: made once, through mallopt, and in effect.</summary>
public sealed class AllocatorTests
{
    static Func<string, string?> Environment(params (string Key, string Value)[] set) =>
        key => set.FirstOrDefault(s => s.Key == key).Value;

    [GlibcFact]
    public void EverySettingIsMadeWithMalloptUnlessTheUserSetItOrSwitchedThemOff()
    {
        var calls = new List<(int, int)>();
        int Record(int p, int v) { calls.Add((p, v)); return 1; }
        string done = NativeStartup.TuneAllocator(Environment(), Record);
        Assert.Equal(NativeStartup.AllocatorSettings.Select(s => (s.Parameter, s.Value)), calls);
        Assert.Equal("M_ARENA_MAX=2, M_MMAP_THRESHOLD=33554432, M_TRIM_THRESHOLD=268435456", done);   // the lean ones wait for a large model

        calls.Clear();
        done = NativeStartup.TuneAllocator(Environment(("MALLOC_ARENA_MAX", "4")), Record);
        Assert.DoesNotContain(calls, c => c.Item1 == -8);
        Assert.Contains("M_ARENA_MAX=4 (from MALLOC_ARENA_MAX)", done);

        calls.Clear();
        done = NativeStartup.TuneAllocator(Environment((NativeStartup.AllocatorSwitchVariable, "0")), Record);
        Assert.Empty(calls);
        Assert.Contains("glibc's defaults", done);
    }

    [GlibcFact]
    public void StartUpMadeTheSettingsOnce()
    {
        var first = NativeStartup.Initialize();
        Assert.Same(first, NativeStartup.Initialize());
        Assert.Equal(1, NativeStartup.AllocatorTunings);
        Assert.Contains("M_ARENA_MAX=", first.Allocator);
    }

    [GlibcFact]
    public void TheLeanSettingIsMadeWithMalloptUnlessTheUserSetItOrSwitchedTheSettingsOff()
    {
        var calls = new List<(int, int)>();
        int Record(int p, int v) { calls.Add((p, v)); return 1; }
        int mmap = NativeStartup.HugePagesOn ? 2 << 20 : 4 << 20;   // with huge pages, libtorch's huge-page size
        Assert.Equal($"M_MMAP_THRESHOLD={mmap}, M_TRIM_THRESHOLD=33554432", NativeStartup.LeanAllocator(Environment(), Record));
        Assert.Equal([(-3, mmap), (-1, 32 << 20)], calls);

        calls.Clear();
        Assert.Contains("M_MMAP_THRESHOLD=1048576 (from MALLOC_MMAP_THRESHOLD_)",
            NativeStartup.LeanAllocator(Environment(("MALLOC_MMAP_THRESHOLD_", "1048576")), Record));
        Assert.Equal([(-1, 32 << 20)], calls);

        calls.Clear();
        Assert.Null(NativeStartup.LeanAllocator(Environment((NativeStartup.AllocatorSwitchVariable, "off")), Record));
        Assert.Empty(calls);
    }

    /// <summary>
    /// The tower sizes decide: the shipped mini-CLIP and rn18-clip (16 M) keep glibc's fast default, a ViT-B/32 (88 M) makes the
    /// lean setting, which then holds for the process (other tests may have built a large model before this one).
    /// </summary>
    [GlibcFact]
    public void BuildingALargeImageTowerMakesTheLeanSettingAndTheSmallModelsAreBelowIt()
    {
        using var mini = ClipCheckpoint.Load(TbarRegressionTests.MiniClip());
        Assert.True(mini.Visual.parameters().Sum(p => p.numel()) < NativeStartup.LeanFromParameters / 10);
        using (var rn18 = new Clip(mini.Config with { Vision = ResNetConfig.Rn18(64) }))
            Assert.InRange(rn18.Visual.parameters().Sum(p => p.numel()), 10_000_000, NativeStartup.LeanFromParameters - 1);
        using var vit = new Clip(ClipConfig.VitB32());
        Assert.True(NativeStartup.Lean);
        Assert.Contains($"M_MMAP_THRESHOLD={NativeStartup.LeanSettings[0].Value}", NativeStartup.Initialize().Allocator);
    }

    /// <summary>
    /// In a fresh process (`tbar doctor`): this test process's heaps may hold a free 12 MiB chunk left by other tests, which
    /// glibc serves whatever the threshold. With the settings switched off, glibc's rising threshold keeps the block in the
    /// heap, so the check can fail.
    /// </summary>
    [GlibcFact]
    public void AFreshProcessMapsABlockAboveTheThresholdForItselfAndGlibcsDefaultDoesNot()
    {
        Assert.Contains("large blocks mapped under it: yes", Doctor(null));
        Assert.Contains("large blocks mapped under it: no", Doctor("0"));
        Assert.Contains("(set at start-up)", Doctor(NativeStartup.LeanAlways));
    }

    [Fact]
    public void HugePagesAreAskedForALargeModelWhereTheKernelOffersThemUnlessTheUserDecidedOrSwitchedTheSettingsOff()
    {
        Assert.Equal((true, "THP_MEM_ALLOC_ENABLE=1 (the kernel's transparent huge pages: madvise)"),
            NativeStartup.DecideHugePages("always [madvise] never\n", Environment(), largeModel: true));
        Assert.False(NativeStartup.DecideHugePages("always [madvise] never", Environment(), largeModel: false).On);
        Assert.True(NativeStartup.DecideHugePages("[always] madvise never", Environment(), true).On);
        Assert.Equal((false, "the kernel's transparent huge pages are 'never'"),
            NativeStartup.DecideHugePages("always madvise [never]", Environment(), true));
        Assert.False(NativeStartup.DecideHugePages(null, Environment(), true).On);
        Assert.False(NativeStartup.DecideHugePages("[always] madvise never", Environment((NativeStartup.HugePagesVariable, "0")), true).On);
        Assert.True(NativeStartup.DecideHugePages("always madvise [never]", Environment((NativeStartup.HugePagesVariable, "1")), false).On);
        Assert.False(NativeStartup.DecideHugePages("[always] madvise never", Environment((NativeStartup.AllocatorSwitchVariable, "0")), true).On);
    }

    [Fact]
    public void ALargeModelIsOneOfTheNamedShapesOrAFolderOrFileWithEnoughWeights()
    {
        string dir = Directory.CreateTempSubdirectory("tbar-large-").FullName;
        try
        {
            Assert.Null(NativeStartup.LargeModelNamed(["unlearn", "--model", dir, "--method", "tbar", "--models", "mini-clip,rn18-clip"]));
            Assert.Equal("'vit-b-32' names a large shape", NativeStartup.LargeModelNamed(["case", "--models", "mini-clip,vit-b-32"]));
            Assert.NotNull(NativeStartup.LargeModelNamed(["init", "--arch=RN50"]));
            string weights = Path.Combine(dir, "model.safetensors");
            using (var f = File.Create(weights)) f.SetLength(NativeStartup.LargeModelBytes - 1);   // sparse: no disk used
            Assert.Null(NativeStartup.LargeModelNamed(["--model", dir]));
            using (var f = File.OpenWrite(weights)) f.SetLength(NativeStartup.LargeModelBytes);
            Assert.Contains("holds 80 MB of weights", NativeStartup.LargeModelNamed(["--model", dir]));
            Assert.NotNull(NativeStartup.LargeModelNamed(["--data", "folder:" + weights]));
            File.Move(weights, Path.Combine(dir, "model.bin"));
            Assert.Null(NativeStartup.LargeModelNamed(["--model", dir]));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void TheLargeShapeNamesAreTheNamedShapesAndEachHasALargeImageTower()
    {
        Assert.Equal(ClipConfig.Named.Keys.Order(), NativeStartup.LargeShapeNames.Order());
        foreach (var (name, make) in ClipConfig.Named)
            Assert.True(make().Vision.ParameterLowerBound(make().EmbedDim) >= NativeStartup.LeanFromParameters, name);
    }

    /// <summary>
    /// libtorch itself must see the variable: <c>tbar doctor</c> asks the kernel whether a 16 MiB tensor's memory is marked for
    /// huge pages. Without the variable libtorch does not mark it (the kernel's mode "always" would mark every large mapping,
    /// so the test needs "madvise"). The doctor names no model, so only the lean switch turns them on.
    /// </summary>
    [MadviseHugePagesFact]
    public void AFreshProcessPutsLargeTensorsOnHugePagesForALargeModelAndNotWhenTheUserSaysNo()
    {
        Assert.Contains("large tensors on huge pages: yes", Doctor(NativeStartup.LeanAlways));
        Assert.Contains("large tensors on huge pages: no", Doctor(NativeStartup.LeanAlways, (NativeStartup.HugePagesVariable, "0")));
        Assert.Contains("large tensors on huge pages: no", Doctor(null));
        Assert.Contains("large tensors on huge pages: no", Doctor("0"));
    }

    static string Doctor(string? tuning, params (string Key, string Value)[] more)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Tbar.Cli.dll"));
        info.ArgumentList.Add("doctor");
        if (tuning != null) info.Environment[NativeStartup.AllocatorSwitchVariable] = tuning;
        foreach (var (key, value) in more) info.Environment[key] = value;
        using var p = Process.Start(info)!;
        var error = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"tbar doctor exited {p.ExitCode}: {error.Result}");
        return output;
    }
}

/// <summary>A test that needs the kernel's transparent huge pages in mode "madvise" and no huge-page variable set.</summary>
public sealed class MadviseHugePagesFactAttribute : FactAttribute
{
    public MadviseHugePagesFactAttribute()
    {
        string file = NativeStartup.HugePagesKernelFile;
        if (!File.Exists(file) || !File.ReadAllText(file).Contains("[madvise]")) Skip = $"{file} does not select madvise here";
        else if (System.Environment.GetEnvironmentVariable(NativeStartup.HugePagesVariable) != null)
            Skip = $"{NativeStartup.HugePagesVariable} is set here";
    }
}

/// <summary>A test of glibc's malloc settings, skipped off glibc or when they are switched off or set by the environment.</summary>
public sealed class GlibcFactAttribute : FactAttribute
{
    public GlibcFactAttribute()
    {
        if (!OperatingSystem.IsLinux()) Skip = "not Linux";
        else if (NativeStartup.AllocatorSettings.Concat(NativeStartup.LeanSettings)
                     .Any(s => System.Environment.GetEnvironmentVariable(s.EnvironmentVariable) != null) ||
                 System.Environment.GetEnvironmentVariable(NativeStartup.AllocatorSwitchVariable) != null)
            Skip = "malloc settings come from the environment here";
    }
}
