using System.Diagnostics;
using System.Text.Json;
using Tbar;
using Tbar.Fuzz;

// tbar-fuzz [--cases N] [--seed S] [--out DIR]: N mutated inputs per target; a crash is any exception other than
// TbarException. Writes DIR/fuzz.json and each crashing input under DIR/crashes/. Exit code 1 when anything crashed.
// tbar-fuzz bad-inputs --cli DLL --model DIR --out DIR: the bad-input table (see BadInputs).
// Before any TorchSharp call: native settings that must precede libtorch (docs/speed.md).
NativeStartup.Initialize();
if (args.Length > 0 && args[0] == "bad-inputs")
{
    string Arg(string flag) => args[Array.IndexOf(args, flag) + 1];
    return BadInputs.Run(Arg("--cli"), Arg("--model"), Arg("--out"));
}
var options = Options.Parse(args);
Directory.CreateDirectory(options.Out);
var results = Targets.All(options.Out).Select(t => Fuzzer.Run(t, options)).ToList();
File.WriteAllText(Path.Combine(options.Out, "fuzz.json"), JsonSerializer.Serialize(new
{
    command = Environment.CommandLine, options.Cases, options.Seed, targets = results,
}, new JsonSerializerOptions { WriteIndented = true }) + "\n");
foreach (var r in results)
    Console.WriteLine($"{r.Target}: {r.Cases:N0} inputs, {r.Accepted:N0} accepted, {r.Rejected:N0} rejected with a clear error, " +
        $"{r.Crashes:N0} crashes, {r.Seconds:F0} s");
return results.Any(r => r.Crashes > 0) ? 1 : 0;

sealed record Options(int Cases, int Seed, string Out)
{
    public static Options Parse(string[] args)
    {
        string Value(string flag, string fallback) => Array.IndexOf(args, flag) is int i and >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        return new Options(int.Parse(Value("--cases", "100000")), int.Parse(Value("--seed", "0")), Value("--out", "fuzz-out"));
    }
}

/// <summary>One target's tally.</summary>
sealed record FuzzResult(string Target, int Cases, int Accepted, int Rejected, int Crashes, double Seconds, IReadOnlyList<string> CrashKinds);

static class Fuzzer
{
    public static FuzzResult Run(Target target, Options o)
    {
        var clock = Stopwatch.StartNew();
        int accepted = 0, rejected = 0;
        var crashes = new List<string>();
        for (int i = 0; i < o.Cases; i++)
        {
            int caseSeed = unchecked(o.Seed * 1_000_003 + i * 31 + target.Name.Length);   // reproducible per (seed, target, case)
            var input = Mutator.Mutate(target.Seeds[i % target.Seeds.Count], caseSeed);
            try
            {
                target.Read(input, $"{target.Name}-case-{i}");
                accepted++;
            }
            catch (TbarException)
            {
                rejected++;
            }
            catch (Exception e)
            {
                crashes.Add($"case {i}: {e.GetType().Name}: {e.Message}");
                Save(o.Out, target.Name, i, input);
            }
        }
        return new FuzzResult(target.Name, o.Cases, accepted, rejected, crashes.Count, clock.Elapsed.TotalSeconds, crashes.Take(20).ToList());
    }

    static void Save(string outDir, string target, int i, byte[] input)
    {
        string dir = Path.Combine(outDir, "crashes");
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, $"{target}-{i}.bin"), input);
    }
}
