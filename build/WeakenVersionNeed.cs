// MSBuild task (compiled by RoslynCodeTaskFactory against netstandard2.0): where the system libstdc++ does not define
// GLIBCXX_3.4.32, mark that version need weak (VER_FLG_WEAK) in the build-output copies of
// libLibTorchSharp.so. The need exists only for a marker symbol that is never called.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class WeakenVersionNeed : Task
{
    const uint ShtGnuVerdef = 0x6ffffffd, ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlgWeak = 0x2;

    /// <summary>Folder whose copies of the library are patched (recursively).</summary>
    [Required] public string OutputDirectory { get; set; } = "";
    /// <summary>File name of the library to patch.</summary>
    [Required] public string LibraryName { get; set; } = "";
    /// <summary>The version need to make weak, e.g. GLIBCXX_3.4.32.</summary>
    [Required] public string VersionName { get; set; } = "";

    public override bool Execute()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || !Directory.Exists(OutputDirectory)) return true;
        string? stdcxx = FindLibStdCxx();
        if (stdcxx != null && DefinedVersions(File.ReadAllBytes(stdcxx)).Contains(VersionName))
        {
            Log.LogMessage(MessageImportance.Low, $"{stdcxx} defines {VersionName}; nothing to patch.");
            return true;
        }
        foreach (var path in Directory.EnumerateFiles(OutputDirectory, LibraryName, SearchOption.AllDirectories))
        {
            byte[] elf = File.ReadAllBytes(path);
            int changed = MarkWeak(elf, VersionName);
            if (changed == 0) continue;
            string tmp = path + ".weak.tmp";
            File.WriteAllBytes(tmp, elf);
            File.Delete(path);
            File.Move(tmp, path);
            Log.LogMessage(MessageImportance.High, $"Marked {VersionName} weak in {path} (system libstdc++ lacks it).");
        }
        return true;
    }

    static string? FindLibStdCxx()
    {
        var dirs = new List<string>();
        foreach (var d in (Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "").Split(':'))
            if (d.Length > 0) dirs.Add(d);
        dirs.AddRange(new[] { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib" });
        foreach (var d in dirs)
        {
            string p = Path.Combine(d, "libstdc++.so.6");
            if (File.Exists(p)) return p;
        }
        return null;
    }

    // Section headers of an ELF64 little-endian file: (type, offset, size, link, info).
    static List<(uint Type, long Offset, long Size, int Link, int Info)> Sections(byte[] b)
    {
        var list = new List<(uint, long, long, int, int)>();
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[4] != 2 || b[5] != 1) return list;
        long shoff = BitConverter.ToInt64(b, 0x28);
        int shentsize = BitConverter.ToUInt16(b, 0x3A), shnum = BitConverter.ToUInt16(b, 0x3C);
        for (int i = 0; i < shnum; i++)
        {
            long h = shoff + (long)i * shentsize;
            if (h + 64 > b.Length) break;
            list.Add((BitConverter.ToUInt32(b, (int)h + 4), BitConverter.ToInt64(b, (int)h + 24),
                BitConverter.ToInt64(b, (int)h + 32), BitConverter.ToInt32(b, (int)h + 40), BitConverter.ToInt32(b, (int)h + 44)));
        }
        return list;
    }

    static string CString(byte[] b, long at)
    {
        int end = (int)at;
        while (end < b.Length && b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, (int)at, end - (int)at);
    }

    static HashSet<string> DefinedVersions(byte[] b)
    {
        var names = new HashSet<string>();
        var secs = Sections(b);
        foreach (var s in secs)
        {
            if (s.Type != ShtGnuVerdef) continue;
            long strtab = secs[s.Link].Offset, at = s.Offset;
            for (int i = 0; i < s.Info; i++)
            {
                int cnt = BitConverter.ToUInt16(b, (int)at + 6);
                long aux = at + BitConverter.ToUInt32(b, (int)at + 12);
                for (int j = 0; j < cnt; j++)
                {
                    names.Add(CString(b, strtab + BitConverter.ToUInt32(b, (int)aux)));
                    aux += BitConverter.ToUInt32(b, (int)aux + 4);
                }
                at += BitConverter.ToUInt32(b, (int)at + 16);
            }
        }
        return names;
    }

    /// <summary>Sets VER_FLG_WEAK on every Vernaux entry named <paramref name="version"/>; returns how many changed.</summary>
    static int MarkWeak(byte[] b, string version)
    {
        int changed = 0;
        var secs = Sections(b);
        foreach (var s in secs)
        {
            if (s.Type != ShtGnuVerneed) continue;
            long strtab = secs[s.Link].Offset, at = s.Offset;
            for (int i = 0; i < s.Info; i++)
            {
                int cnt = BitConverter.ToUInt16(b, (int)at + 2);
                long aux = at + BitConverter.ToUInt32(b, (int)at + 8);
                for (int j = 0; j < cnt; j++)
                {
                    ushort flags = BitConverter.ToUInt16(b, (int)aux + 4);
                    if (CString(b, strtab + BitConverter.ToUInt32(b, (int)aux + 8)) == version && (flags & VerFlgWeak) == 0)
                    {
                        BitConverter.GetBytes((ushort)(flags | VerFlgWeak)).CopyTo(b, (int)aux + 4);
                        changed++;
                    }
                    aux += BitConverter.ToUInt32(b, (int)aux + 12);
                }
                at += BitConverter.ToUInt32(b, (int)at + 12);
            }
        }
        return changed;
    }
}
