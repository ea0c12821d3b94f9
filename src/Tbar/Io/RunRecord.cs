using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tbar.Io;

/// <summary>How an output was made: command line, options, seed, versions, git commit, wall time, and the results.</summary>
public sealed record RunRecord(string Command, object Options, long Seed, object Results, double Seconds)
{
    /// <summary>UTC time the record was written.</summary>
    public string WrittenAt { get; init; } = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ");
    /// <summary>The repository commit (or "unknown" outside a git checkout).</summary>
    public string GitCommit { get; init; } = Git("rev-parse HEAD");
    /// <summary>The native start-up's state (whether the oneMKL vendor fix was active), which float results may depend on.</summary>
    public NativeState Native { get; init; } = NativeStartup.Initialize();
    /// <summary>Versions of the runtime and the main packages.</summary>
    public Dictionary<string, string> Versions { get; init; } = new()
    {
        ["dotnet"] = Environment.Version.ToString(),
        ["tbar"] = typeof(RunRecord).Assembly.GetName().Version?.ToString() ?? "?",
        ["TorchSharp"] = typeof(TorchSharp.torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?",
        ["libtorch"] = TorchSharp.torch.__version__,
    };

    /// <summary>Writes the record as indented JSON, atomically.</summary>
    public void Save(string path) => AtomicFile.WriteText(path, JsonSerializer.Serialize(this, Json) + "\n");

    /// <summary>snake_case, indented: the JSON style of every Tbar output.</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        // Keep α, τ, ×, ≤ readable in the files; the output is UTF-8 JSON, not embedded in HTML.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        // Enums as snake_case names, like the config file; integers (records written before) still read.
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    static string Git(string args)
    {
        try
        {
            var info = new ProcessStartInfo("git", args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using var p = Process.Start(info)!;
            string output = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return p.ExitCode == 0 ? output : "unknown";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }
}
