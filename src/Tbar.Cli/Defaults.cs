namespace Tbar.Cli;

/// <summary>Defaults the commands share.</summary>
static class Defaults
{
    /// <summary>The shipped mini-CLIP, found relative to the working directory or the repository holding the CLI.</summary>
    public static string MiniClip
    {
        get
        {
            const string relative = "models/mini-clip";
            if (Directory.Exists(relative)) return relative;
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
                if (Directory.Exists(Path.Combine(dir.FullName, relative))) return Path.Combine(dir.FullName, relative);
            return relative;
        }
    }
}
