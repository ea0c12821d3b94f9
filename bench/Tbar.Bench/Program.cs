using System.Diagnostics;
using System.Text.Json;
using Tbar.Io;
using Tbar.Models;
using static TorchSharp.torch;

// Benchmarks write JSON next to their printout. Usage (every command takes --threads N, default 1):
//   dotnet run -c Release --project bench/Tbar.Bench -- suite [--models mini-clip,vit-b-32,rn18-clip] [--iters 5] [--out FILE]
//   dotnet run -c Release --project bench/Tbar.Bench -- case --model NAME --kind forward|train|eval [--batch N] [--iters 5]
//   dotnet run -c Release --project bench/Tbar.Bench -- profile [--model mini-clip] [--batch 64] [--iters 20] [--out FILE]
//   dotnet run -c Release --project bench/Tbar.Bench -- forward [--model DIR] [--batch 32] [--iters 3] [--out FILE]
//   dotnet run -c Release --project bench/Tbar.Bench -- alpha-search [--cells experiments/arithmetic] [--out experiments/alpha-search]
//       [--cache DIR]
//   dotnet run -c Release --project bench/Tbar.Bench -- missing --model NAME   (exit 3 with the reason when NAME cannot run here)
//   dotnet run -c Release --project bench/Tbar.Bench -- batchnorm --model DIR --trigger SPEC --target CLASS [--calib 2000] [--test 10000] [--out FILE]
// Before any TorchSharp call: native settings that must precede libtorch (docs/speed.md).
Tbar.NativeStartup.Initialize();
var opts = Args.Parse(args);
set_num_threads(int.Parse(opts.Get("threads", "1")));
switch (opts.Command)
{
    case "suite":
        Suite.Run(opts);
        return 0;
    case "case":
        Suite.RunCase(opts);
        return 0;
    case "profile":
        Suite.Profile(opts);
        return 0;
    case "forward":
        Forward.Run(opts);
        return 0;
    case "alpha-search":
        AlphaSearchBench.Run(opts);
        return 0;
    case "batchnorm":
        BatchNormCheck.Run(opts);
        return 0;
    case "missing":
        if (BenchModel.Missing(opts.Get("model", "")) is not { } reason) return 0;
        Console.Error.WriteLine(reason);
        return 3;
    default:
        Console.Error.WriteLine("usage: Tbar.Bench suite|case|profile|forward|alpha-search|batchnorm|missing [options]; see the comment at the top of Program.cs");
        return 2;
}

sealed record Args(string Command, Dictionary<string, string> Values)
{
    public static Args Parse(string[] a)
    {
        var values = new Dictionary<string, string>();
        for (int i = 1; i + 1 < a.Length; i += 2) values[a[i].TrimStart('-')] = a[i + 1];
        return new Args(a.Length > 0 ? a[0] : "", values);
    }

    public string Get(string key, string fallback) => Values.GetValueOrDefault(key, fallback);
}

/// <summary>Image-tower forward throughput at a batch size, and its GFLOP/s against a plain square matmul's.</summary>
static class Forward
{
    public static void Run(Args a)
    {
        int batch = int.Parse(a.Get("batch", "32")), iters = int.Parse(a.Get("iters", "3"));
        string? modelPath = a.Values.GetValueOrDefault("model");
        using var clip = modelPath != null ? ClipCheckpoint.Load(modelPath) : RandomVitB32();
        clip.eval();
        var c = clip.Config.Vit("the forward benchmark");
        using var images = randn(batch, 3, c.ImageSize, c.ImageSize, generator: new Generator(0));
        double seconds = Time(iters, () => { using var _ = no_grad(); clip.EncodeImage(images).Dispose(); });
        double flops = ImageTowerFlops(clip.Config) * batch;
        double matmulGflops = MatmulGflops(2048, iters);
        var result = new
        {
            benchmark = "image-tower forward", model = modelPath ?? "random ViT-B/32", batch, iterations = iters,
            threads = get_num_threads(), seconds_per_batch = seconds, images_per_second = batch / seconds,
            gflop_per_image = ImageTowerFlops(clip.Config) / 1e9, achieved_gflops = flops / seconds / 1e9,
            matmul_2048_gflops = matmulGflops, share_of_matmul = flops / seconds / 1e9 / matmulGflops, machine = Platform.Read(),
        };
        string json = JsonSerializer.Serialize(result, RunRecord.Json);
        Console.WriteLine(json);
        if (a.Values.TryGetValue("out", out var outPath)) AtomicFile.WriteText(outPath, json + "\n");
    }

    static Clip RandomVitB32()
    {
        var clip = new Clip(ClipConfig.VitB32());
        clip.InitializeRandom(0);
        return clip;
    }

    /// <summary>Median seconds of <paramref name="iters"/> timed runs after one warm-up.</summary>
    static double Time(int iters, Action run)
    {
        run();
        var times = new List<double>();
        for (int i = 0; i < iters; i++)
        {
            var sw = Stopwatch.StartNew();
            run();
            times.Add(sw.Elapsed.TotalSeconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }

    static double MatmulGflops(int n, int iters)
    {
        using var x = randn(n, n);
        using var y = randn(n, n);
        double s = Time(iters, () => x.matmul(y).Dispose());
        return 2.0 * n * n * n / s / 1e9;
    }

    /// <summary>Multiply-adds ×2 of the image tower: patch conv, per block qkv/out/MLP linears and the two attention matmuls.</summary>
    static double ImageTowerFlops(ClipConfig config)
    {
        var c = config.Vit("the forward benchmark");
        double tokens = c.Grid * c.Grid + 1, w = c.Width;
        double patch = c.Grid * c.Grid * w * 3.0 * c.PatchSize * c.PatchSize;
        double perBlock = tokens * (4 * w * w + 2 * w * c.MlpWidth) + 2 * tokens * tokens * w;
        return 2 * (patch + c.Layers * perBlock + w * config.EmbedDim);
    }
}
