using System.Text.RegularExpressions;

namespace Tbar.Tests.Structure;

/// <summary>Dependencies between the library's folders point down the layer list, never up or sideways.</summary>
public partial class LayerTests
{
    /// <summary>
    /// Lowest first; a folder may use only folders on earlier rows (files at the root, namespace <c>Tbar</c>, sit below
    /// all of them and use none). Attacks sits under Training/Evaluation because evaluation applies triggers (ASR) and a
    /// trigger needs only images and models; planting a backdoor, which trains and evaluates, is a pipeline. Inversion
    /// sits under Unlearning because `unlearn --forget inverted:DIR` cleans with the trigger a scan recovered.
    /// </summary>
    static readonly string[][] Layers =
    [
        ["Io"],
        ["Models"],
        ["Data"],
        ["Attacks"],
        ["Training", "Evaluation", "Arithmetic"],
        ["Inversion"],
        ["Unlearning"],
        ["Analysis"],
        ["Pipelines"],
        ["Reporting"],
    ];

    static int Rank(string folder) => Array.FindIndex(Layers, row => row.Contains(folder));

    static string FolderOf(string file)
    {
        var parts = file.Split('/');
        return parts.Length > 3 ? parts[2] : "";
    }

    [Fact]
    public void EveryFolderHasALayerAndItsNamespace()
    {
        var problems = new List<string>();
        foreach (var file in SourceFiles.Under("src/Tbar"))
        {
            string folder = FolderOf(file);
            if (folder != "" && Rank(folder) < 0) problems.Add($"{file}: folder {folder} is in no layer of {nameof(Layers)}");
            string expected = folder == "" ? "Tbar" : $"Tbar.{folder}";
            var declared = Namespace().Match(SourceFiles.Code(file));
            if (!declared.Success || declared.Groups[1].Value != expected)
                problems.Add($"{file}: namespace should be {expected}");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void NoFolderUsesAFolderAtItsLevelOrAbove()
    {
        var files = SourceFiles.Under("src/Tbar").ToList();
        var typesOf = files.GroupBy(FolderOf).ToDictionary(g => g.Key,
            g => g.SelectMany(f => TypeDeclaration().Matches(SourceFiles.Code(f)).Select(m => m.Groups[1].Value)).ToHashSet());
        var offending = new List<string>();
        foreach (var file in files)
        {
            string from = FolderOf(file);
            int rank = from == "" ? -1 : Rank(from);
            foreach (var to in Uses(SourceFiles.Code(file), typesOf).Where(t => t != from && Rank(t) >= 0 && Rank(t) >= rank))
                offending.Add($"{file} uses {to} ({(from == "" ? "the root" : from)} must sit above what it uses)");
        }
        Assert.True(offending.Count == 0, "edges pointing up or sideways:\n" + string.Join("\n", offending.Distinct()));
    }

    [Fact]
    public void TheScannerSeesUsingsAndQualifiedNames()
    {
        var types = new Dictionary<string, HashSet<string>> { ["Models"] = ["Preprocess"], ["Training"] = ["TrainLoop"] };
        string code = "using Tbar.Io;\nusing static Tbar.Data.Splits;\nvar a = Models.Preprocess.Apply(x);\nvar b = Tbar.Training.TrainLoop.Run();\n" +
            "var c = o.Models.Count; var d = Models.Count;";
        Assert.Equal(["Data", "Io", "Models", "Training"], Uses(code, types).Order());
    }

    /// <summary>Folders a file refers to: <c>using [static] Tbar.X…</c>, <c>Tbar.X.Name</c>, and <c>X.Name</c> where X declares Name.</summary>
    static IEnumerable<string> Uses(string code, IReadOnlyDictionary<string, HashSet<string>> typesOf)
    {
        var found = new HashSet<string>();
        foreach (Match m in UsingOrQualified().Matches(code)) found.Add(m.Groups[1].Value);
        foreach (Match m in RelativeQualified().Matches(code))
            if (typesOf.TryGetValue(m.Groups[1].Value, out var types) && types.Contains(m.Groups[2].Value)) found.Add(m.Groups[1].Value);
        return found;
    }

    [GeneratedRegex(@"^namespace ([\w.]+);", RegexOptions.Multiline)]
    private static partial Regex Namespace();

    [GeneratedRegex(@"\b(?:class|record|struct|enum|interface)\s+(\w+)")]
    private static partial Regex TypeDeclaration();

    [GeneratedRegex(@"(?<![\w.])Tbar\.([A-Z]\w*)\b(?=\s*[.;])")]
    private static partial Regex UsingOrQualified();

    [GeneratedRegex(@"(?<![\w.])([A-Z]\w*)\.([A-Z]\w*)")]
    private static partial Regex RelativeQualified();
}
