using System.Diagnostics;

namespace Tbar.Io;

/// <summary>
/// Writes a folder as a whole: everything goes into a hidden temporary sibling, which is renamed into place at the end. A
/// reader (or a run killed half-way) sees no folder, the previous one, or the complete new one. Temporary siblings left by
/// killed runs are removed by the next write to the same place.
/// </summary>
public static class AtomicFolder
{
    const string Marker = ".tbar-";

    /// <summary>
    /// Fills a fresh temporary sibling of <paramref name="path"/> through <paramref name="fill"/>, then renames it to
    /// <paramref name="path"/>. An existing folder there is replaced only when it holds <paramref name="ownFile"/> (the file
    /// that marks it as this kind of output, e.g. "report.json") or is empty; anything else is an error, never deleted.
    /// <paramref name="inputs"/> (files or folders the run reads) must lie outside it.
    /// </summary>
    public static void Write(string path, string ownFile, Action<string> fill, params IEnumerable<string?> inputs)
    {
        string full = Check(path, ownFile, inputs);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        RemoveStale(full);
        string stage = Sibling(full, "tmp");
        Directory.CreateDirectory(stage);
        try
        {
            fill(stage);
            Swap(stage, full);
        }
        catch
        {
            if (Directory.Exists(stage)) Directory.Delete(stage, recursive: true);
            throw;
        }
    }

    /// <summary>
    /// The checks of <see cref="Write"/> without writing, for a command to call before hours of work: throws when the
    /// output could not be written there. Returns the full path.
    /// </summary>
    public static string Check(string path, string ownFile, params IEnumerable<string?> inputs)
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (Path.GetDirectoryName(full) is null) throw new TbarException($"{path}: cannot write an output folder at the file-system root");
        RequireOutside(path, full, inputs);
        CheckReplaceable(path, full, ownFile);
        RequireWritable(path);
        return full;
    }

    /// <summary>
    /// Throws when nothing can be written where <paramref name="path"/> (a file or folder, existing or not) would go: a small
    /// file is made and removed in the nearest folder that exists on the way to it (a read-only file system, no permission).
    /// </summary>
    public static void RequireWritable(string path)
    {
        string folder = NearestFolder(path);
        string probe = Path.Combine(folder, $"{Marker}probe.{Environment.ProcessId}.{Guid.NewGuid():N}");
        try
        {
            File.WriteAllBytes(probe, [0]);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The system's reason without the probe file's name ("Read-only file system : '…/.tbar-probe…'").
            string reason = e.Message.Split(" : '")[0].Trim();
            throw new TbarException($"{path}: cannot write there ({folder}: {reason}); choose another --out");
        }
    }

    /// <summary>
    /// Throws when the file system that <paramref name="path"/> would go to has fewer than <paramref name="bytes"/> free: a
    /// command that writes a model calls it first, with the model's size, instead of failing after the computation.
    /// </summary>
    public static void RequireRoom(string path, long bytes)
    {
        string folder = NearestFolder(path);
        long free = new DriveInfo(folder).AvailableFreeSpace;
        if (free < bytes)
            throw new TbarException($"{path}: needs about {Megabytes(bytes)} MB and {folder} has {Megabytes(free)} MB free; " +
                "free some space or choose another --out");
    }

    static string Megabytes(long bytes) =>
        (bytes / 1e6).ToString(bytes < 10_000_000 ? "0.0" : "0", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The path itself when it is a folder, else the nearest folder above it that exists.</summary>
    static string NearestFolder(string path)
    {
        string? folder = Path.GetFullPath(path);
        while (folder != null && !Directory.Exists(folder)) folder = Path.GetDirectoryName(folder);
        return folder ?? Path.GetPathRoot(Path.GetFullPath(path))!;
    }

    static void RequireOutside(string path, string full, IEnumerable<string?> inputs)
    {
        foreach (var input in inputs.OfType<string>())
        {
            string other = Path.TrimEndingDirectorySeparator(Path.GetFullPath(input));
            if (other == full || other.StartsWith(full + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new TbarException($"{path}: holds the input {input}; inputs are never overwritten, choose another --out");
        }
    }

    /// <summary>Throws when <paramref name="full"/> exists as a file, or as a folder that is neither empty nor this kind of output.</summary>
    static void CheckReplaceable(string path, string full, string ownFile)
    {
        if (File.Exists(full)) throw new TbarException($"{path}: is a file; the output must be a folder");
        if (!Directory.Exists(full) || !Directory.EnumerateFileSystemEntries(full).Any()) return;
        if (!File.Exists(Path.Combine(full, ownFile)))
            throw new TbarException($"{path}: exists and holds no {ownFile}, so it is not an earlier output of this command; " +
                "choose another --out or remove it");
    }

    // Old folder aside, new one in, old one deleted: a kill in between leaves the old one under a name the next run removes.
    static void Swap(string stage, string full)
    {
        if (!Directory.Exists(full))
        {
            Directory.Move(stage, full);
            return;
        }
        string old = Sibling(full, "old");
        Directory.Move(full, old);
        Directory.Move(stage, full);
        Directory.Delete(old, recursive: true);
    }

    static string Sibling(string full, string kind) =>
        Path.Combine(Path.GetDirectoryName(full)!, $"{Marker}{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.{kind}");

    /// <summary>Deletes temporary siblings of <paramref name="full"/> whose writing process is gone (killed runs).</summary>
    public static void RemoveStale(string full)
    {
        string parent = Path.GetDirectoryName(full)!, prefix = $"{Marker}{Path.GetFileName(full)}.";
        if (!Directory.Exists(parent)) return;
        foreach (var dir in Directory.EnumerateDirectories(parent, prefix + "*"))
        {
            var parts = Path.GetFileName(dir)[prefix.Length..].Split('.');
            if (parts.Length == 3 && int.TryParse(parts[0], out int pid) && !Alive(pid)) Directory.Delete(dir, recursive: true);
        }
    }

    internal static bool Alive(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
