using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tbar;
using Tbar.Arithmetic;
using Tbar.Attacks;
using Tbar.Data;
using Tbar.Evaluation;
using Tbar.Io;
using Tbar.Models;
using Tbar.Unlearning;

/// <summary>
/// The α search strategies side by side on saved backdoored models (cells of <c>tbar experiment arithmetic</c>): per cell,
/// τ is estimated once per method (tbar, tbar-consistent), then each method's rule (and the same rule at a 75% CA floor) is
/// searched by the 40-point grid, bracket + bisection and the screened search. Evaluations are memoised per α, so a point
/// two strategies share is computed once, but each strategy is charged for every evaluation and look it asks for. With
/// --cache DIR, τ and the memoised points are kept there (outside the repository: τ is 6 MB) and reused by later runs.
/// </summary>
static class AlphaSearchBench
{
    sealed record Method(string Name, TbarOptions Options)
    {
        public AlphaRule Rule => Options.Rule;
    }

    static readonly Method[] Methods = [new("tbar", TbarOptions.Default), new("tbar-consistent", TbarOptions.Consistent)];

    public static void Run(Args a)
    {
        string cells = a.Get("cells", "experiments/arithmetic"), outDir = a.Get("out", "experiments/alpha-search");
        string? cache = a.Values.GetValueOrDefault("cache");
        Directory.CreateDirectory(outDir);
        if (cache != null) Directory.CreateDirectory(cache);
        var names = Directory.GetDirectories(cells).Select(Path.GetFileName).Where(n => File.Exists(Path.Combine(cells, n!, "model", "attack.json")))
            .Order().ToList();
        if (names.Count == 0) throw new TbarException($"{cells}: no cell folders with a saved model (<cell>/model/attack.json)");
        var rows = new List<JsonObject>();
        foreach (var name in names)
        {
            string file = Path.Combine(outDir, name + ".json");
            AtomicFile.WriteText(file, Cell(Path.Combine(cells, name!), name!, cache).ToJsonString(Indented) + "\n");
            rows.AddRange(JsonNode.Parse(File.ReadAllText(file))!["searches"]!.AsArray().Select(r => r!.AsObject()));
            Console.Error.WriteLine($"{name}: done");
        }
        var summary = Summary(rows);
        AtomicFile.WriteText(Path.Combine(outDir, "summary.json"), summary.ToJsonString(Indented) + "\n");
        AtomicFile.WriteText(Path.Combine(outDir, "table.md"), Table(rows, summary));
        Console.WriteLine(File.ReadAllText(Path.Combine(outDir, "table.md")));
    }

    static readonly JsonSerializerOptions Indented = new(RunRecord.Json);

    static JsonObject Cell(string dir, string name, string? cache)
    {
        var clock = Stopwatch.StartNew();
        long seed = long.Parse(name[(name.LastIndexOf("seed", StringComparison.Ordinal) + 4)..]);
        var spec = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "model", "attack.json")))!["trigger_spec"]!.GetValue<string>();
        using var model = ClipCheckpoint.Load(Path.Combine(dir, "model"));
        using var data = DataSpec.Load("fashion-mnist", model.Config.Vision.ImageSize);
        using var head = ZeroShotHead.Build(model, Tokenizers.For(model, null), data.Test.ClassNames, Captions.Templates);
        var trigger = Triggers.Parse(spec);
        // The cell's task exactly as `tbar experiment arithmetic` drew it (target Bag, 3% poison, 2,000 forget, 2,000 validation).
        int target = data.Train.ClassIndex("Bag");
        var plan = PoisonPlan.Draw(data.TrainIndices, data.Train.Labels, target, 0.03, seed);
        var task = UnlearnTask.FromPool(data.Train, plan.CleanPool(data.TrainIndices), trigger, target, 2000, 2000, seed);
        double fullImages = task.ValClean.Length + task.ValTriggered.Indices.Length;
        var searches = new JsonArray();
        foreach (var m in Methods)
        {
            string? stem = cache == null ? null : Path.Combine(cache, $"{name}-{m.Name}");
            using var tau = stem != null && File.Exists(stem + ".safetensors") ? TaskVector.Load(stem + ".safetensors")
                : m.Options.Estimator().Estimate(model, head, task);
            if (stem != null && !File.Exists(stem + ".safetensors")) tau.Save(stem + ".safetensors");
            using var edit = new WeightEdit(model, tau);
            var memo = stem != null && File.Exists(stem + ".json")
                ? JsonSerializer.Deserialize<Saved>(File.ReadAllText(stem + ".json"), RunRecord.Json)! : new Saved([], [], []);
            var points = memo.Points.ToDictionary(p => p.Alpha);
            var looks = memo.Looks.ToDictionary(l => l.Alpha);
            var cleanOnly = memo.Clean?.ToDictionary(c => c.Alpha, c => c.Ca) ?? [];
            AlphaPoint Full(double alpha) => Memo(points, alpha, () => { edit.Set(-alpha); return task.Point(model, head, alpha); });
            // A grid point under the CA floor is never chosen for its ASR (Selection.Pick), so its triggered images are skipped.
            AlphaPoint GridPoint(double alpha, double floor)
            {
                if (points.TryGetValue(alpha, out var p)) return p;
                var ca = Memo(cleanOnly, alpha, () => { edit.Set(-alpha); return CleanAccuracy(model, head, task); });
                return ca.Value < floor ? new AlphaPoint(alpha, ca, new Rate(0, 0)) : Full(alpha);
            }
            AlphaLook Look(double alpha) => Memo(looks, alpha, () => { edit.Set(-alpha); return task.Look(model, head, alpha, m.Rule.LookSize); });
            foreach (var rule in new[] { m.Rule, m.Rule with { CaFloor = 0.75 } })
            {
                var grid = Enumerable.Range(1, rule.GridPoints).Select(k => k * rule.MaxAlpha / rule.GridPoints).ToList();
                double floor = rule.CaFloor * Full(0).CleanAccuracy.Value;
                var onGrid = AlphaSweep.ChooseOnGrid(Full(0), x => GridPoint(x, floor), grid, rule, " on the grid");
                foreach (var search in AlphaSweep.Searches)
                {
                    int full = 0, looked = 0;
                    long lookImages = 0;
                    var choice = AlphaSweep.Search(x => { full++; return Full(x); },
                        x => { looked++; var l = Look(x); lookImages += l.CleanAccuracy.Total + l.AttackSuccess.Total; return l; },
                        rule with { Search = search });
                    searches.Add(Row(name, m.Name, rule, search, choice, onGrid, full, looked, lookImages / fullImages));
                }
            }
            edit.Restore();
            if (stem != null)
                AtomicFile.WriteText(stem + ".json", JsonSerializer.Serialize(new Saved([.. points.Values], [.. looks.Values], [.. cleanOnly.Select(c => new CleanPoint(c.Key, c.Value))]), RunRecord.Json));
        }
        return new JsonObject
        {
            ["cell"] = name, ["trigger"] = spec, ["seed"] = seed, ["validation_images"] = fullImages, ["seconds"] = clock.Elapsed.TotalSeconds,
            ["searches"] = searches,
        };
    }

    sealed record CleanPoint(double Alpha, Rate Ca);

    sealed record Saved(List<AlphaPoint> Points, List<AlphaLook> Looks, List<CleanPoint>? Clean);

    static Rate CleanAccuracy(Clip model, ZeroShotHead head, UnlearnTask task)
    {
        var predicted = Metrics.Predict(model, head, task.ValData, task.ValClean);
        return new Rate(task.ValClean.Where((idx, i) => predicted[i] == task.ValData.Labels[idx]).LongCount(), task.ValClean.Length);
    }

    static T Memo<T>(Dictionary<double, T> cache, double alpha, Func<T> make)
    {
        if (!cache.TryGetValue(alpha, out var value)) cache[alpha] = value = make();
        return value;
    }

    static JsonObject Row(string cell, string method, AlphaRule rule, string search, AlphaChoice c, AlphaChoice grid, int full, int looks,
        double lookCost)
    {
        double step = rule.MaxAlpha / rule.GridPoints;
        return new JsonObject
        {
            ["cell"] = cell, ["method"] = method, ["ca_floor"] = rule.CaFloor, ["max_alpha"] = rule.MaxAlpha, ["search"] = search,
            ["full_evaluations"] = full, ["looks"] = looks, ["cost"] = full + lookCost,
            ["alpha"] = c.Alpha, ["feasible"] = c.Feasible, ["ca"] = c.Point.CleanAccuracy.Value, ["asr"] = c.Point.AttackSuccess.Value,
            ["grid_alpha"] = grid.Alpha, ["grid_feasible"] = grid.Feasible, ["grid_ca"] = grid.Point.CleanAccuracy.Value,
            ["grid_asr"] = grid.Point.AttackSuccess.Value, ["grid_step"] = step, ["steps_from_grid"] = (c.Alpha - grid.Alpha) / step,
            ["curve"] = new JsonArray(c.Curve.Select(p => (JsonNode)new JsonArray(p.Alpha, p.CleanAccuracy.Value, p.AttackSuccess.Value)).ToArray()),
        };
    }

    static JsonObject Summary(List<JsonObject> rows)
    {
        var summary = new JsonObject();
        foreach (var g in rows.GroupBy(r => (string)r["search"]!))
        {
            var grid = g.Select(r => Math.Abs((double)r["steps_from_grid"]!)).ToList();
            summary[g.Key] = new JsonObject
            {
                ["searches"] = g.Count(), ["mean_full_evaluations"] = g.Average(r => (int)r["full_evaluations"]!),
                ["max_full_evaluations"] = g.Max(r => (int)r["full_evaluations"]!), ["mean_looks"] = g.Average(r => (int)r["looks"]!),
                ["mean_cost"] = g.Average(r => (double)r["cost"]!), ["within_one_grid_step"] = grid.Count(d => d <= 1 + 1e-9),
                ["max_steps_from_grid"] = grid.Max(), ["same_feasibility_as_grid"] = g.Count(r => (bool)r["feasible"]! == (bool)r["grid_feasible"]!),
            };
        }
        return summary;
    }

    static string Table(List<JsonObject> rows, JsonObject summary)
    {
        var lines = new List<string>
        {
            "| cell | method | floor | grid α | bisect α (evals) | screened α (evals + looks, cost) |", "|---|---|---|---|---|---|",
        };
        foreach (var g in rows.GroupBy(r => ((string)r["cell"]!, (string)r["method"]!, (double)r["ca_floor"]!)))
        {
            var b = g.Single(r => (string)r["search"]! == "bisect");
            var s = g.Single(r => (string)r["search"]! == "screened");
            lines.Add($"| {g.Key.Item1} | {g.Key.Item2} | {g.Key.Item3:0.##} | {Alpha(b, "grid_")} | {Alpha(b, "")} ({b["full_evaluations"]}) | " +
                $"{Alpha(s, "")} ({s["full_evaluations"]} + {s["looks"]}, {(double)s["cost"]!:F2}) |");
        }
        lines.Add("");
        foreach (var (search, node) in summary)
            lines.Add($"{search}: {(double)node!["mean_full_evaluations"]!:F2} full evaluations on average (max {node["max_full_evaluations"]}), " +
                $"{(double)node["mean_looks"]!:F1} looks, cost {(double)node["mean_cost"]!:F2} evaluations; within one grid step of the grid's α " +
                $"in {node["within_one_grid_step"]}/{node["searches"]} (max {(double)node["max_steps_from_grid"]!:F2} steps)");
        return string.Join("\n", lines) + "\n";
    }

    static string Alpha(JsonObject r, string prefix) =>
        $"{(double)r[prefix + "alpha"]!:0.###}{((bool)r[prefix + "feasible"]! ? "" : "*")} ({(double)r[prefix + "asr"]! * 100:F1}% ASR)";
}
