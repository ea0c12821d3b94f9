using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json.Serialization;

namespace Tbar;

/// <summary>Whether the oneMKL vendor fix is in effect, and if not, why.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<VendorFix>))]
public enum VendorFix
{
    /// <summary>The shim is loaded ahead of libtorch: oneMKL takes its Intel code path on this non-Intel CPU.</summary>
    Active,
    /// <summary>An Intel CPU: oneMKL takes its fast path without help.</summary>
    InactiveIntel,
    /// <summary>Not Linux on x86-64 (no vendor_id), where the check does not apply.</summary>
    NotApplicable,
    /// <summary>TBAR_MKL_VENDOR_FIX=0 turned it off.</summary>
    DisabledByEnvironment,
    /// <summary>The build made no shim (no C compiler) or it is not beside Tbar.dll.</summary>
    ShimMissing,
    /// <summary>dlopen refused the shim.</summary>
    LoadFailed,
    /// <summary>The shim loaded, but libtorch was loaded first: oneMKL may already have asked its own check.</summary>
    LoadedAfterLibtorch,
}

/// <summary>A glibc malloc setting: its name, mallopt's parameter number, the value, and glibc's own environment variable for it.</summary>
public sealed record AllocatorSetting(string Name, int Parameter, int Value, string EnvironmentVariable);

/// <summary>What <see cref="NativeStartup.Initialize"/> did: recorded by run records and benchmark JSON.</summary>
/// <param name="VendorFix">The oneMKL vendor fix's state.</param>
/// <param name="CpuVendor">/proc/cpuinfo's vendor_id ("" where absent).</param>
/// <param name="Shim">The shim's path when it was looked for, else null.</param>
/// <param name="Reason">One sentence a user can act on.</param>
public sealed record NativeState([property: JsonConverter(typeof(JsonStringEnumConverter<VendorFix>))] VendorFix VendorFix,
    string CpuVendor, string? Shim, string Reason)
{
    /// <summary>The glibc malloc settings made at start-up (<see cref="NativeStartup.AllocatorSettings"/>), or why none were.</summary>
    public string Allocator { get; init; } = "";

    /// <summary>Whether libtorch puts large tensors on transparent huge pages (<see cref="NativeStartup.HugePagesVariable"/>), and why.</summary>
    public string HugePages { get; init; } = "";

    /// <summary>Whether oneMKL sees the shim's answer.</summary>
    public bool VendorFixActive => VendorFix == VendorFix.Active;
}

/// <summary>
/// Native settings that must be made before libtorch loads. Every Tbar program calls <see cref="Initialize"/> first, before
/// any TorchSharp call (the CLI, the benchmarks, the fuzzer and the tests do; Tbar's own module initializer does too, but
/// that runs only once a Tbar type is touched, which may be after a program's first TorchSharp call). It loads the oneMKL
/// vendor fix (docs/speed.md): on non-Intel x86 CPUs oneMKL would run its slow generic kernels. And it tunes glibc's malloc
/// (<see cref="AllocatorSettings"/>, and <see cref="LeanSettings"/> once a large model is built; docs/checkpoints.md "Memory"):
/// libtorch allocates every tensor with malloc, and by default freed activations stay in per-thread heaps, so a ViT-B/32
/// fine-tune's resident memory grew far past its live memory.
/// </summary>
public static class NativeStartup
{
    /// <summary>The environment variable that turns the vendor fix off when set to 0 (or false, off).</summary>
    public const string SwitchVariable = "TBAR_MKL_VENDOR_FIX";
    /// <summary>The shim's file name in the program's output folder (built from native/mkl_vendor_shim.c).</summary>
    public const string ShimFile = "libtbar_mkl_shim.so";
    /// <summary>Written by the build instead of the shim when it could not compile one; holds the reason.</summary>
    public const string UnavailableFile = "libtbar_mkl_shim.unavailable";

    static readonly Lock gate = new();
    static NativeState? state;

    /// <summary>The environment variable that turns the malloc settings off when set to 0 (or false, off).</summary>
    public const string AllocatorSwitchVariable = "TBAR_MALLOC_TUNING";

    /// <summary>
    /// glibc malloc settings made with mallopt at start-up (glibc reads its MALLOC_* variables before any code of ours runs, so
    /// setting those from inside the process would do nothing). One that the user set through its environment variable is left
    /// as glibc read it. Thread blocks take their tensors from at most <c>M_ARENA_MAX</c> heaps instead of one per thread
    /// (8 per core). Blocks under 32 MiB come from the heaps, and a heap keeps up to 256 MiB of free space at its top, so a
    /// training step or an evaluation batch reuses the pages the one before it freed instead of faulting fresh ones
    /// (docs/speed.md, "The allocator"). glibc's own default is slower on both counts: it gives a heap's free top back beyond
    /// twice its mmap threshold, which starts at 128 KiB, so every step faults its pages again.
    /// </summary>
    public static readonly IReadOnlyList<AllocatorSetting> AllocatorSettings =
    [
        new("M_ARENA_MAX", -8, 2, "MALLOC_ARENA_MAX"),
        new("M_MMAP_THRESHOLD", -3, 32 << 20, "MALLOC_MMAP_THRESHOLD_"),
        new("M_TRIM_THRESHOLD", -1, 256 << 20, "MALLOC_TRIM_THRESHOLD_"),
    ];

    /// <summary>
    /// The lean settings, made once a model with a large image tower is built (<see cref="FitAllocator"/>): large blocks (a
    /// ViT-B/32's activations) are mapped for themselves and given back to the system when freed, so freed activations do not
    /// stay in the heaps, and a heap's free top beyond 32 MiB is given back (docs/checkpoints.md, "Memory": a ViT-B/32 job's
    /// peak 3.5 GB with them, past 5.5 GB without). Their price is speed: every mapped block is page-faulted afresh when first
    /// written, and on the AMD EPYC machines of this kind a 4 KiB page fault costs ≈ 20 µs. With huge pages on
    /// (<see cref="HugePagesOn"/>) a tensor's block is faulted 2 MiB at a time, so the mmap threshold is libtorch's huge-page
    /// size, 2 MiB; without them it is 4 MiB, under which a ViT-B/32 training step ran at about a third of glibc's default
    /// speed (docs/speed.md). Small towers, whose activations fit any laptop, keep the start-up settings. A user-set variable
    /// wins here too.
    /// </summary>
    public static IReadOnlyList<AllocatorSetting> LeanSettings =>
    [
        new("M_MMAP_THRESHOLD", -3, HugePagesOn ? 2 << 20 : 4 << 20, "MALLOC_MMAP_THRESHOLD_"),
        new("M_TRIM_THRESHOLD", -1, 32 << 20, "MALLOC_TRIM_THRESHOLD_"),
    ];

    /// <summary>
    /// libtorch's own switch (c10's CPU allocator reads it once, at its first allocation): set to 1, every CPU tensor of 2 MiB
    /// or more is aligned to 2 MiB and marked <c>madvise(MADV_HUGEPAGE)</c>, so the kernel faults it in 2 MiB pages instead of
    /// 512 pages of 4 KiB. <see cref="Initialize"/> sets it in the process's native environment where the kernel offers
    /// transparent huge pages ("always" or "madvise"), unless the user set it or switched the allocator settings off. It moves
    /// no result: only where the pages come from. Measured in docs/speed.md ("Huge pages").
    /// </summary>
    public const string HugePagesVariable = "THP_MEM_ALLOC_ENABLE";

    /// <summary>The kernel's transparent-huge-page mode; the selected one is in brackets, e.g. "always [madvise] never".</summary>
    public const string HugePagesKernelFile = "/sys/kernel/mm/transparent_hugepage/enabled";

    /// <summary>Whether libtorch was told to use huge pages in this process (<see cref="HugePagesVariable"/>).</summary>
    public static bool HugePagesOn { get; private set; }

    /// <summary>
    /// Whether large tensors should go on huge pages, from the kernel's mode (the text of <see cref="HugePagesKernelFile"/>,
    /// null where it does not exist) and the environment; with the reason, for records and <c>tbar doctor</c>.
    /// </summary>
    internal static (bool On, string Why) DecideHugePages(string? kernelModes, Func<string, string?> environment, bool largeModel)
    {
        if (Switched(environment(AllocatorSwitchVariable)))
            return (false, $"{AllocatorSwitchVariable}=0: libtorch's default (no huge pages)");
        if (environment(HugePagesVariable) is { } given)
            return (given.Trim().ToLowerInvariant() is "1" or "true" or "on" or "yes" or "y",
                $"{HugePagesVariable}={given} (from the environment)");
        if (!largeModel)
            return (false, "off: no large model on the command line (small towers reuse the heap's pages; docs/speed.md, \"Huge pages\")");
        if (!OperatingSystem.IsLinux() || kernelModes == null) return (false, "no transparent huge pages on this system");
        var selected = System.Text.RegularExpressions.Regex.Match(kernelModes, @"\[(\w+)\]");
        string mode = selected.Success ? selected.Groups[1].Value : kernelModes.Trim();
        return mode is "always" or "madvise"
            ? (true, $"{HugePagesVariable}=1 (the kernel's transparent huge pages: {mode})")
            : (false, $"the kernel's transparent huge pages are '{mode}'");
    }

    /// <summary>
    /// The shapes <c>tbar init --arch</c> and the benchmarks know by name (<c>ClipConfig.Named</c>, which sits above this
    /// file; a test keeps the two equal and checks every one's image tower has <see cref="LeanFromParameters"/> or more).
    /// </summary>
    public static readonly IReadOnlySet<string> LargeShapeNames = new HashSet<string> { "vit-b-32", "vit-b-16", "vit-l-14", "rn50" };

    /// <summary>Safetensors bytes from which a model named on the command line is large: <see cref="LeanFromParameters"/> in float32.</summary>
    public const long LargeModelBytes = LeanFromParameters * 4;

    /// <summary>
    /// Why the process's arguments name a large model, or null: an argument (or a part of one between ',', '=' or ':') that is
    /// one of <see cref="LargeShapeNames"/>, or a folder or file holding at least <see cref="LargeModelBytes"/>
    /// of .safetensors (a folder's own files, not its subfolders'). libtorch decides about huge pages at its first allocation,
    /// before any model is built, so the choice is made from what the command names (docs/speed.md, "Huge pages").
    /// </summary>
    internal static string? LargeModelNamed(IEnumerable<string> arguments)
    {
        foreach (string part in arguments.SelectMany(a => a.Split(',', '=', ':')).Where(p => p.Length > 0))
        {
            if (LargeShapeNames.Contains(part.ToLowerInvariant())) return $"'{part}' names a large shape";
            try
            {
                long bytes = Directory.Exists(part) ? new DirectoryInfo(part).GetFiles("*.safetensors").Sum(f => f.Length)
                    : File.Exists(part) && part.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) ? new FileInfo(part).Length : 0;
                if (bytes >= LargeModelBytes) return $"{part} holds {bytes / 1_000_000:N0} MB of weights";
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException) { }
        }
        return null;
    }

    static string? ReadKernelHugePageModes()
    {
        try { return File.Exists(HugePagesKernelFile) ? File.ReadAllText(HugePagesKernelFile) : null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>
    /// Whether the memory at <paramref name="address"/> may be backed by huge pages (the kernel's "THPeligible" for its mapping
    /// in /proc/self/smaps: marked by madvise, or the kernel's mode "always", and big enough); null where there is no smaps or
    /// no such mapping. A tensor's data address tells whether libtorch saw <see cref="HugePagesVariable"/>; <c>tbar doctor</c> asks it.
    /// </summary>
    public static bool? HugePageEligible(IntPtr address)
    {
        const string smaps = "/proc/self/smaps";
        if (!File.Exists(smaps)) return null;
        const System.Globalization.NumberStyles hex = System.Globalization.NumberStyles.HexNumber;
        ulong at = (ulong)address.ToInt64();
        bool inside = false;
        foreach (string line in File.ReadLines(smaps))
        {
            // A mapping's first line: "start-end perms offset dev inode path"; the lines after it are "Key: value".
            int dash = line.IndexOf('-'), space = line.IndexOf(' ');
            if (dash > 0 && space > dash && ulong.TryParse(line.AsSpan(0, dash), hex, null, out ulong start)
                && ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), hex, null, out ulong end))
                inside = start <= at && at < end;
            else if (inside && line.StartsWith("THPeligible:", StringComparison.Ordinal))
                return line.AsSpan("THPeligible:".Length).Trim().SequenceEqual("1");
        }
        return null;
    }

    /// <summary>Image towers with at least this many parameters get <see cref="LeanSettings"/> (ViT-B/32 88 M, RN50 38 M; rn18-clip 16 M).</summary>
    public const long LeanFromParameters = 20_000_000;

    /// <summary>The value of <see cref="AllocatorSwitchVariable"/> that makes <see cref="LeanSettings"/> at start-up, whatever the model.</summary>
    public const string LeanAlways = "lean";

    /// <summary>Runs once per process (later calls return the first call's state); never throws.</summary>
    public static NativeState Initialize()
    {
        lock (gate)
        {
            if (state != null) return state;
            string allocator = TuneAllocator(Environment.GetEnvironmentVariable, Libc.MallOpt);
            AllocatorTunings++;
            string? large = LargeModelNamed(Environment.GetCommandLineArgs().Skip(1));
            bool leanAlways = IsLeanAlways(Environment.GetEnvironmentVariable(AllocatorSwitchVariable));
            var (huge, hugeWhy) = DecideHugePages(ReadKernelHugePageModes(), Environment.GetEnvironmentVariable, leanAlways || large != null);
            if (huge && Environment.GetEnvironmentVariable(HugePagesVariable) == null)
            {
                // libtorch reads the native environment (getenv), which .NET's Environment does not write on Unix. Only there:
                // child processes start from .NET's copy and decide for themselves.
                if (Libc.SetEnv(HugePagesVariable, "1", 0) != 0) (huge, hugeWhy) = (false, $"setenv({HugePagesVariable}) failed");
            }
            HugePagesOn = huge;
            state = LoadVendorFix(CpuInfo.Read().Vendor, Environment.GetEnvironmentVariable(SwitchVariable), ShimFolder)
                with { Allocator = allocator, HugePages = hugeWhy };
            if (leanAlways) MakeLean("set at start-up");
            else if (large != null) MakeLean($"set at start-up: {large}");
            return state;
        }
    }

    /// <summary>Whether <see cref="LeanSettings"/> is in effect in this process.</summary>
    public static bool Lean { get; private set; }

    /// <summary>
    /// Called for every model built (<c>Clip</c>'s constructor): an image tower of <see cref="LeanFromParameters"/> or more
    /// makes <see cref="LeanSettings"/> for the rest of the process, unless the settings are switched off or the user set
    /// glibc's variable. The state's <see cref="NativeState.Allocator"/> says so, and so does every record written after it.
    /// </summary>
    public static void FitAllocator(long imageTowerParameters)
    {
        if (imageTowerParameters < LeanFromParameters || Lean) return;
        Initialize();
        lock (gate)
        {
            if (!Lean) MakeLean($"image tower of {imageTowerParameters:N0} parameters");
        }
    }

    // Under the gate, after Initialize.
    static void MakeLean(string why)
    {
        string? done = LeanAllocator(Environment.GetEnvironmentVariable, Libc.MallOpt);
        if (done == null) return;
        Lean = true;
        state = state! with { Allocator = $"{state.Allocator}, {done} ({why})" };
    }

    /// <summary>
    /// Makes <see cref="LeanSettings"/> with <paramref name="mallopt"/> (except those the user set through glibc's variable);
    /// null (nothing done) when the settings are switched off or off glibc.
    /// </summary>
    internal static string? LeanAllocator(Func<string, string?> environment, Func<int, int, int> mallopt) =>
        Switched(environment(AllocatorSwitchVariable)) || !Libc.IsGlibc ? null : Make(LeanSettings, environment, mallopt);

    static string Make(IEnumerable<AllocatorSetting> settings, Func<string, string?> environment, Func<int, int, int> mallopt) =>
        string.Join(", ", settings.Select(s => environment(s.EnvironmentVariable) is { } given ? $"{s.Name}={given} (from {s.EnvironmentVariable})"
            : mallopt(s.Parameter, s.Value) == 1 ? $"{s.Name}={s.Value}" : $"{s.Name}: mallopt refused {s.Value}"));

    static bool IsLeanAlways(string? value) => string.Equals(value?.Trim(), LeanAlways, StringComparison.OrdinalIgnoreCase);

    /// <summary>How many times <see cref="Initialize"/> has made the malloc settings in this process (at most once).</summary>
    public static int AllocatorTunings { get; private set; }

    /// <summary>
    /// Makes <see cref="AllocatorSettings"/> with <paramref name="mallopt"/>, except when switched off and except those the
    /// user set through glibc's own variable (<paramref name="environment"/> reads the environment); returns what was done.
    /// </summary>
    internal static string TuneAllocator(Func<string, string?> environment, Func<int, int, int> mallopt)
    {
        if (Switched(environment(AllocatorSwitchVariable))) return $"{AllocatorSwitchVariable}=0: glibc's defaults";
        if (!Libc.IsGlibc) return "not glibc: the allocator is left as it is";
        return Make(AllocatorSettings, environment, mallopt);
    }

    /// <summary>
    /// Whether a block above the mmap threshold is mapped for itself, as <see cref="LeanSettings"/> intends (null off glibc).
    /// With glibc's default the threshold rises to the size of any mapped block freed (up to 32 MiB), so after a 24 MiB block
    /// is freed a 12 MiB one comes from the heap; with the fixed threshold it is mapped. Read from the block's own header
    /// (glibc's IS_MMAPPED bit). Meaningful early in a fresh process: a heap that already holds a free chunk of 12 MiB (up to
    /// <c>M_TRIM_THRESHOLD</c> may stay at its top) serves the block from there whatever the threshold. <c>tbar doctor</c> reports it.
    /// </summary>
    public static bool? LargeBlocksAreMapped()
    {
        if (!Libc.IsGlibc) return null;
        static bool Mapped(IntPtr block) => (Marshal.ReadInt64(block, -8) & 2) != 0;
        Marshal.FreeHGlobal(Marshal.AllocHGlobal(24 << 20));
        IntPtr block = Marshal.AllocHGlobal(12 << 20), small = Marshal.AllocHGlobal(1024);
        try
        {
            if (Mapped(small)) throw new InvalidOperationException("a 1 KiB block reads as mapped: glibc's chunk header is not where expected");
            return Mapped(block);
        }
        finally
        {
            Marshal.FreeHGlobal(block);
            Marshal.FreeHGlobal(small);
        }
    }

    /// <summary>
    /// Bytes malloc has handed out and not had back, over every heap and mapped block (glibc's mallinfo2: uordblks + hblkhd),
    /// or null off glibc (or before 2.33). libtorch allocates every CPU tensor with malloc, so the difference across a
    /// forward pass is what its autograd graph keeps, which no tensor handle shows.
    /// </summary>
    public static long? MallocInUse()
    {
        if (!CanMeasureMalloc) return null;
        var info = Libc.MallInfo();
        return (long)(info.UordBlks + info.HBlkHd);
    }

    /// <summary>Whether <see cref="MallocInUse"/> can measure here (glibc 2.33 or later).</summary>
    public static bool CanMeasureMalloc => Libc.HasMallInfo2;

    static bool Switched(string? value) => value?.Trim().ToLowerInvariant() is "0" or "false" or "off";

    // A library's module initializer is the last resort for a program that forgot Initialize(); see the class remarks.
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255", Justification = "native settings must precede libtorch's load")]
    internal static void OnModuleLoad() => Initialize();

    /// <summary>
    /// Whether the shim should load for a CPU vendor_id and the value of <see cref="SwitchVariable"/>: <see cref="VendorFix.Active"/>
    /// means load it; anything else is the reason not to.
    /// </summary>
    public static VendorFix Decide(string cpuVendor, string? switchValue)
    {
        if (Switched(switchValue)) return VendorFix.DisabledByEnvironment;
        if (cpuVendor.Length == 0 || !OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            return VendorFix.NotApplicable;
        return cpuVendor == "GenuineIntel" ? VendorFix.InactiveIntel : VendorFix.Active;
    }

    /// <summary>The folder the shim is looked for in: Tbar.dll's, which is the referencing program's output folder.</summary>
    public static string ShimFolder =>
        Path.GetDirectoryName(typeof(NativeStartup).Assembly.Location) is { Length: > 0 } dir ? dir : AppContext.BaseDirectory;

    internal static NativeState LoadVendorFix(string vendor, string? switchValue, string folder)
    {
        var decision = Decide(vendor, switchValue);
        if (decision != VendorFix.Active) return new(decision, vendor, null, Explain(decision, vendor));
        string shim = Path.Combine(folder, ShimFile);
        if (!File.Exists(shim)) return new(VendorFix.ShimMissing, vendor, shim, MissingReason(shim));
        bool late = Dl.IsLoaded("libtorch_cpu.so");
        if (Dl.Open(shim, Dl.Now | Dl.Global) == IntPtr.Zero)
            return new(VendorFix.LoadFailed, vendor, shim, $"dlopen({shim}) failed: {Dl.LastError()}");
        return late
            ? new(VendorFix.LoadedAfterLibtorch, vendor, shim,
                "libtorch was loaded before NativeStartup.Initialize(); call it first, before any TorchSharp call")
            : new(VendorFix.Active, vendor, shim, $"{vendor} CPU: oneMKL's vendor check answered by the shim");
    }

    static string Explain(VendorFix decision, string vendor) => decision switch
    {
        VendorFix.DisabledByEnvironment => $"{SwitchVariable}=0",
        VendorFix.InactiveIntel => "Intel CPU: oneMKL takes its fast path without the shim",
        _ => $"no x86-64 CPU vendor on this system ('{vendor}'): oneMKL's vendor check does not apply",
    };

    static string MissingReason(string shim)
    {
        string unavailable = Path.Combine(Path.GetDirectoryName(shim)!, UnavailableFile);
        return File.Exists(unavailable)
            ? $"{ShimFile} was not built: {File.ReadAllText(unavailable).Trim()}"
            : $"{shim} does not exist (the program's build did not import Tbar's Directory.Build.targets, or it was not copied)";
    }

    /// <summary>glibc's mallopt, and whether this process runs on glibc at all.</summary>
    static class Libc
    {
        [DllImport("libc", EntryPoint = "mallopt")]
        static extern int MallOptNative(int parameter, int value);

        [DllImport("libc", EntryPoint = "gnu_get_libc_version")]
        static extern IntPtr Version();

        public static int MallOpt(int parameter, int value) => MallOptNative(parameter, value);

        [DllImport("libc", EntryPoint = "setenv")]
        public static extern int SetEnv(string name, string value, int overwrite);

        [StructLayout(LayoutKind.Sequential)]
        public struct MallInfo2
        {
            public nuint Arena, OrdBlks, SmBlks, HBlks, HBlkHd, UsmBlks, FsmBlks, UordBlks, FordBlks, KeepCost;
        }

        [DllImport("libc", EntryPoint = "mallinfo2")]
        public static extern MallInfo2 MallInfo();

        /// <summary>Asked once: training steps ask it (<see cref="MallocInUse"/>), and off glibc the answer is an exception.</summary>
        public static bool IsGlibc => isGlibc.Value;

        static readonly Lazy<bool> isGlibc = new(() =>
        {
            if (!OperatingSystem.IsLinux()) return false;
            try { return Version() != IntPtr.Zero; }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { return false; }
        });

        /// <summary>Whether glibc has mallinfo2 (2.33 and later); asked once.</summary>
        public static bool HasMallInfo2 => hasMallInfo2.Value;

        static readonly Lazy<bool> hasMallInfo2 = new(() =>
        {
            if (!IsGlibc) return false;
            try
            {
                MallInfo();
                return true;
            }
            catch (EntryPointNotFoundException) { return false; }
        });
    }

    /// <summary>The few libdl calls: .NET's NativeLibrary.Load cannot load RTLD_GLOBAL.</summary>
    static class Dl
    {
        public const int Now = 0x2, Global = 0x100;
        const int NoLoad = 0x4, Lazy = 0x1;

        [DllImport("libc", EntryPoint = "dlopen")]
        public static extern IntPtr Open(string file, int flags);

        [DllImport("libc", EntryPoint = "dlerror")]
        static extern IntPtr Error();

        public static string LastError() => Marshal.PtrToStringUTF8(Error()) ?? "unknown error";

        /// <summary>Whether a library of this name (or soname) is already in the process; RTLD_NOLOAD loads nothing.</summary>
        public static bool IsLoaded(string name) => Open(name, Lazy | NoLoad) != IntPtr.Zero;
    }
}
