using System.Text.Json;
using Spectre.Console;
using Tbar.Io;

namespace Tbar.Cli;

/// <summary>Console and JSON output shared by the commands.</summary>
static class Output
{
    /// <summary>A Spectre console writing to <paramref name="writer"/> (plain when it is not a terminal).</summary>
    public static IAnsiConsole Console(TextWriter writer) => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(writer),
        Ansi = writer == System.Console.Out && !System.Console.IsOutputRedirected ? AnsiSupport.Detect : AnsiSupport.No,
        ColorSystem = ColorSystemSupport.Detect,
    });

    /// <summary>Serialises <paramref name="value"/> to <paramref name="path"/> atomically.</summary>
    public static void WriteJson<T>(string path, T value) =>
        AtomicFile.WriteText(path, JsonSerializer.Serialize(value, RunRecord.Json) + "\n");
}
