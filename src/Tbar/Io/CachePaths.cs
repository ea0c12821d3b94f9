namespace Tbar.Io;

/// <summary>Where Tbar keeps what it builds or decodes once: under $XDG_CACHE_HOME/tbar, else ~/.cache/tbar.</summary>
public static class CachePaths
{
    /// <summary>The cache root.</summary>
    public static string Root => Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x
        ? x : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "tbar");

    /// <summary>
    /// The folder of the embedded rn18-clip. The parent names the recipe generation ("rn18-v2": 3 unlocked epochs), so a model
    /// cached by an earlier recipe is never taken for the current one; the folder itself keeps the name tables show.
    /// </summary>
    public static string Rn18Clip => Path.Combine(Root, "rn18-v2", "rn18-clip");
}
