using System.CommandLine;
using Spectre.Console;

namespace Tbar.Cli;

/// <summary>The console the commands write to, and the status lines and list flags several commands share.</summary>
static class Output
{
    /// <summary>A Spectre console writing to <paramref name="writer"/> (plain when it is not a terminal).</summary>
    public static IAnsiConsole Console(TextWriter writer) => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(writer),
        Ansi = writer == System.Console.Out && !System.Console.IsOutputRedirected ? AnsiSupport.Detect : AnsiSupport.No,
        ColorSystem = ColorSystemSupport.Detect,
    });

    /// <summary>Status lines of a long run (what each cell or step is doing), grey on <paramref name="stdout"/>.</summary>
    public static Action<string> Status(TextWriter stdout)
    {
        var console = Console(stdout);
        return s => console.MarkupLine($"[grey]{Markup.Escape(s)}[/]");
    }

    /// <summary>A flag taking several values (space-separated or repeated), with defaults.</summary>
    public static Option<string[]> Many(string name, string description, string[] defaults) =>
        new(name) { Description = description, DefaultValueFactory = _ => defaults, AllowMultipleArgumentsPerToken = true };
}
