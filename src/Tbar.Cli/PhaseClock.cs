using System.Diagnostics;
using Spectre.Console;

namespace Tbar.Cli;

/// <summary>
/// Status lines of a long command, each phase timed: a line names the phase that starts, and <see cref="Summary"/> lists the
/// seconds each phase took, so a user sees where the time went.
/// </summary>
sealed class PhaseClock(TextWriter stdout)
{
    readonly IAnsiConsole console = Output.Console(stdout);
    readonly Stopwatch clock = Stopwatch.StartNew();
    readonly List<(string Phase, double Seconds)> done = [];
    (string Phase, double Start)? current;

    /// <summary>Ends the current phase and starts <paramref name="phase"/>, printing it with the time so far.</summary>
    public void Status(string phase)
    {
        Close();
        current = (phase, clock.Elapsed.TotalSeconds);
        console.MarkupLine($"[grey]{clock.Elapsed.TotalSeconds,6:F0} s  {Markup.Escape(phase)}[/]");
    }

    /// <summary>"phase 12 s, phase 30 s, …" for every phase so far, the current one closed.</summary>
    public string Summary()
    {
        Close();
        return string.Join(", ", done.Select(d => $"{d.Phase} {d.Seconds:F0} s"));
    }

    void Close()
    {
        if (current is not { } c) return;
        done.Add((c.Phase, clock.Elapsed.TotalSeconds - c.Start));
        current = null;
    }
}
