namespace Tbar.Io;

/// <summary>Writes files so that a reader sees either the old content or the complete new one.</summary>
public static class AtomicFile
{
    /// <summary>Writes through <paramref name="write"/> to a temp file in the same folder, then renames it over <paramref name="path"/>.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        try
        {
            WriteThrough(path, write);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TbarException($"{path}: cannot write ({e.Message})", e);
        }
    }

    static void WriteThrough(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? ".";
        if (Directory.Exists(full)) throw new TbarException($"{path}: is a folder, not a file");
        Directory.CreateDirectory(dir);
        RemoveStale(full);
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            if (File.Exists(tmp)) File.Delete(tmp);
            throw;
        }
    }

    /// <summary>Deletes temporary siblings of <paramref name="full"/> left by writers that were killed.</summary>
    static void RemoveStale(string full)
    {
        string prefix = $".{Path.GetFileName(full)}.";
        foreach (var tmp in Directory.EnumerateFiles(Path.GetDirectoryName(full)!, prefix + "*.tmp"))
        {
            var parts = Path.GetFileName(tmp)[prefix.Length..].Split('.');
            if (parts.Length == 3 && int.TryParse(parts[0], out int pid) && !AtomicFolder.Alive(pid)) File.Delete(tmp);
        }
    }

    /// <summary>Writes UTF-8 text atomically.</summary>
    public static void WriteText(string path, string text) =>
        Write(path, s => { using var w = new StreamWriter(s, new System.Text.UTF8Encoding(false), leaveOpen: true); w.Write(text); });

    /// <summary>Writes bytes atomically.</summary>
    public static void WriteBytes(string path, ReadOnlySpan<byte> bytes)
    {
        byte[] copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }
}
