using System.Text.RegularExpressions;

namespace Tbar.Tests.Structure;

/// <summary>The CLI translates flags into library calls: loading models, data, tokenizers and heads is the library's (Workbench).</summary>
public partial class ThinCliTests
{
    [Fact]
    public void NoCommandLoadsAModelDataTokenizerOrHeadItself()
    {
        var offending = SourceFiles.Under("src/Tbar.Cli")
            .SelectMany(f => Loading().Matches(SourceFiles.Code(f)).Select(m => $"{f}: {m.Value}"))
            .ToList();
        Assert.True(offending.Count == 0, "load through Tbar.Pipelines.Workbench instead:\n" + string.Join("\n", offending));
    }

    [Fact]
    public void TheScanSeesEachKindOfLoad()
    {
        string code = "ClipCheckpoint.Load(p); DataSpec.Load(s, 28); ZeroShotHead.ForClasses(m, t, n); Tokenizers.For(m, d); ClipCheckpoint.Save(m, o);";
        Assert.Equal(4, Loading().Matches(code).Count);
    }

    [GeneratedRegex(@"\b(ClipCheckpoint\.Load|DataSpec\.Load|ZeroShotHead\.\w+|Tokenizers\.For)\b")]
    private static partial Regex Loading();
}
