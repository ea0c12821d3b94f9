namespace Tbar.Cli;

/// <summary>
/// A model option's value resolved where the command uses it (<see cref="Pipelines.ModelNames"/>): an embedded name becomes
/// its folder, rn18-clip being built under a progress bar on first use. Arguments are never rewritten before parsing.
/// </summary>
static class ModelFlag
{
    public static string Resolve(string value, TextWriter stdout) => Pipelines.ModelNames.NeedsBuild(value)
        ? ProgressBar.Run(stdout, value, p => Pipelines.ModelNames.Resolve(value, stdout.WriteLine, p))
        : Pipelines.ModelNames.Resolve(value);

    public static string[] Resolve(string[] values, TextWriter stdout) => [.. values.Select(v => Resolve(v, stdout))];
}
