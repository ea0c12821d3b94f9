using Spectre.Console;

namespace Tbar.Cli;

/// <summary>The console the commands write to.</summary>
static class Output
{
    /// <summary>A Spectre console writing to <paramref name="writer"/> (plain when it is not a terminal).</summary>
    public static IAnsiConsole Console(TextWriter writer) => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(writer),
        Ansi = writer == System.Console.Out && !System.Console.IsOutputRedirected ? AnsiSupport.Detect : AnsiSupport.No,
        ColorSystem = ColorSystemSupport.Detect,
    });
}
