using System.Text.RegularExpressions;

namespace Tbar.Tests.Structure;

/// <summary>The library's C# sources as text, for tests about how the code is laid out.</summary>
static partial class SourceFiles
{
    /// <summary>The repository root (the folder holding Tbar.sln).</summary>
    public static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Tbar.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    /// <summary>Every .cs file under <paramref name="relative"/>, build outputs left out; paths relative to the root.</summary>
    public static IEnumerable<string> Under(string relative)
    {
        string root = Root();
        return Directory.EnumerateFiles(Path.Combine(root, relative), "*.cs", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
            .Where(f => !f.Contains("/bin/") && !f.Contains("/obj/"))
            .Order(StringComparer.Ordinal);
    }

    /// <summary>The text with // comments removed (/// docs included), so that cref mentions do not count as uses.</summary>
    public static string Code(string relative) =>
        LineComment().Replace(File.ReadAllText(Path.Combine(Root(), relative)), "");

    [GeneratedRegex(@"//.*$", RegexOptions.Multiline)]
    private static partial Regex LineComment();
}
