using System.Text;
using System.Text.RegularExpressions;
using Tbar.Io;

namespace Tbar.Reporting;

/// <summary>`tbar report`: the section.md files of analysis folders gathered into one Markdown report.</summary>
public static partial class SectionReport
{
    /// <summary>Writes <paramref name="output"/> from every section.md under <paramref name="inputs"/>; returns how many it gathered.</summary>
    public static int Gather(IReadOnlyList<string> inputs, string output)
    {
        var sections = new List<string>();
        foreach (var dir in inputs)
        {
            if (!Directory.Exists(dir)) throw new TbarException($"{dir}: no such folder");
            sections.AddRange(Directory.EnumerateFiles(dir, "section.md", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
        }
        if (sections.Count == 0) throw new TbarException($"no section.md under {string.Join(", ", inputs)} (written by `tbar analyze ...`)");
        string outDir = Path.GetDirectoryName(Path.GetFullPath(output))!;
        var sb = new StringBuilder("# Tbar analysis report\n\n");
        foreach (var file in sections)
        {
            string from = Path.GetDirectoryName(Path.GetFullPath(file))!;
            // Image links are relative to their section; make them relative to the report.
            string text = ImageLink().Replace(File.ReadAllText(file), m =>
                $"]({Path.GetRelativePath(outDir, Path.Combine(from, m.Groups[1].Value)).Replace('\\', '/')})");
            sb.Append(text.TrimEnd()).Append($"\n\n_Source: `{Path.GetRelativePath(outDir, file).Replace('\\', '/')}`_\n\n");
        }
        Directory.CreateDirectory(outDir);
        AtomicFile.WriteText(output, sb.ToString());
        return sections.Count;
    }

    [GeneratedRegex(@"\]\(([^)/:][^):]*\.png)\)")]
    private static partial Regex ImageLink();
}
