using System.Diagnostics;
using System.Text.Json;
using Tbar.Io;
using static TorchSharp.torch;

/// <summary>The benchmark suite: every (model, case) at its default batch, with the machine facts, into one JSON.</summary>
static class Suite
{
    public static void Run(Args a)
    {
        var clock = Stopwatch.StartNew();
        int iters = int.Parse(a.Get("iters", "5"));
        var machine = Timing.Machine();
        var cases = new List<object>();
        var skipped = new Dictionary<string, string>();
        foreach (var name in a.Get("models", string.Join(",", BenchModel.Names)).Split(','))
        {
            if (BenchModel.Missing(name) is { } reason)
            {
                skipped[name] = reason;
                continue;
            }
            using var model = BenchModel.Load(name, RepoRoot());
            foreach (var kind in Cases.Kinds)
                cases.Add(Summary(Cases.Run(model, kind, Cases.DefaultBatch(name, kind), iters), machine));
        }
        Write(a, new { benchmark = "suite", machine, iterations = iters, cases, skipped, load_average_after = Timing.LoadAverage(),
            seconds = clock.Elapsed.TotalSeconds });
    }

    /// <summary>One case, as the side-by-side script calls it: one JSON line on stdout (model "matmul": a 2048² matmul).</summary>
    public static void RunCase(Args a)
    {
        string name = a.Get("model", "mini-clip"), kind = a.Get("kind", "train");
        if (name == "matmul")
        {
            using var x = randn(2048, 2048, generator: new Generator(0));
            using var y = randn(2048, 2048, generator: new Generator(1));
            var seconds = Timing.Runs(int.Parse(a.Get("iters", "5")), () => x.matmul(y).Dispose());
            double gflops = 2.0 * 2048 * 2048 * 2048 / Timing.Median(seconds) / 1e9;
            var line = new { side = "tbar", model = name, kind = "matmul", threads = get_num_threads(), gflops, seconds, machine = Platform.Read() };
            Console.WriteLine(JsonSerializer.Serialize(line, Line));
            return;
        }
        if (BenchModel.Missing(name) is { } reason) throw new Tbar.TbarException(reason);
        using var model = BenchModel.Load(name, RepoRoot());
        var result = Cases.Run(model, kind, int.Parse(a.Get("batch", Cases.DefaultBatch(name, kind).ToString())), int.Parse(a.Get("iters", "5")));
        var summary = JsonSerializer.SerializeToNode(Summary(result, null), Line)!.AsObject();
        summary["machine"] = JsonSerializer.SerializeToNode(Platform.Read(), Line);
        Console.WriteLine(summary.ToJsonString(Line));
    }

    /// <summary>One JSON line per case (side-by-side.sh appends each to a .jsonl file), in the style of every Tbar output.</summary>
    static readonly JsonSerializerOptions Line = new(RunRecord.Json) { WriteIndented = false };


    public static void Profile(Args a)
    {
        using var model = BenchModel.Load(a.Get("model", "mini-clip"), RepoRoot());
        var result = TrainProfile.Run(model, int.Parse(a.Get("batch", "64")), int.Parse(a.Get("iters", "20")));
        Write(a, new { benchmark = "train-step profile", machine = Timing.Machine(), profile = result });
    }

    static object Summary(CaseResult r, MachineFacts? machine) => new
    {
        side = "tbar", model = r.Model, kind = r.Kind, batch = r.Batch, threads = r.Threads, images_per_second = r.ImagesPerSecond,
        seconds_per_batch = r.MedianSeconds, seconds = r.Seconds, gflop_per_image = r.GflopPerImage, achieved_gflops = r.Gflops,
        share_of_matmul = machine is null ? (double?)null : r.Gflops / machine.Matmul2048Gflops,
    };

    static void Write(Args a, object result)
    {
        string json = JsonSerializer.Serialize(result, RunRecord.Json);
        Console.WriteLine(json);
        if (a.Values.TryGetValue("out", out var path)) AtomicFile.WriteText(path, json + "\n");
    }

    /// <summary>The checkout holding Tbar.sln, searched upwards from the working directory.</summary>
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Tbar.sln"))) return dir.FullName;
        throw new Tbar.TbarException("run the benchmarks from inside the Tbar checkout (no Tbar.sln above the working directory)");
    }
}
