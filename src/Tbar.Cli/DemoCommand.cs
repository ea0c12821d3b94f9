using System.CommandLine;

namespace Tbar.Cli;

/// <summary><c>tbar demo</c>: the main job. Until the unlearning issue lands it states its plan and exits 0.</summary>
static class DemoCommand
{
    public static Command Create(TextWriter stdout)
    {
        var command = new Command("demo", "Backdoor the shipped mini-CLIP, remove the backdoor with TBAR, report CA/ASR.");
        command.SetAction(_ =>
        {
            stdout.WriteLine("tbar demo: not built yet. It will backdoor the shipped mini-CLIP (BadNet, 3% poison),");
            stdout.WriteLine("run TBAR and its baselines, and write results.json, report.md and plots to ./tbar-demo.");
            return 0;
        });
        return command;
    }
}
