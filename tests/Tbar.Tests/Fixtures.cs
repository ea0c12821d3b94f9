namespace Tbar.Tests;

/// <summary>Locates the reference fixtures in ../shared/fixtures (or $TBAR_FIXTURES) without copying them.</summary>
public static class Fixtures
{
    public static readonly string? Root = Find();

    public static string Dir(string name) =>
        Path.Combine(Root ?? throw new InvalidOperationException("fixtures folder not found"), name);

    /// <summary>The ViT fixtures, each in both layouts (hf/, open_clip/).</summary>
    public static readonly string[] Names = ["clip-tiny-quickgelu", "clip-tiny-gelu", "clip-vit-p16", "clip-vit-p14"];

    /// <summary>The ModifiedResNet fixture: open_clip layout only (its hf/ holds just the tokenizer).</summary>
    public const string Rn50 = "clip-rn50-narrow";

    /// <summary>The repository's root folder (the one holding Tbar.sln).</summary>
    public static readonly string RepoRoot = FindRepo();

    static string FindRepo()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Tbar.sln"))) return dir.FullName;
        throw new InvalidOperationException("Tbar.sln not found above the test binaries");
    }

    static string? Find()
    {
        string? env = Environment.GetEnvironmentVariable("TBAR_FIXTURES");
        if (!string.IsNullOrEmpty(env)) return Directory.Exists(env) ? env : null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "Tbar.sln"))) continue;
            string candidate = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "fixtures"));
            return Directory.Exists(candidate) ? candidate : null;
        }
        return null;
    }
}

/// <summary>A fact that is skipped, with the reason, when the reference fixtures are absent.</summary>
public sealed class FixtureFactAttribute : FactAttribute
{
    public FixtureFactAttribute()
    {
        if (Fixtures.Root == null)
            Skip = "reference fixtures not found: expected ../shared/fixtures beside the repository (or set TBAR_FIXTURES)";
    }
}

/// <summary>A theory that is skipped, with the reason, when the reference fixtures are absent.</summary>
public sealed class FixtureTheoryAttribute : TheoryAttribute
{
    public FixtureTheoryAttribute()
    {
        if (Fixtures.Root == null)
            Skip = "reference fixtures not found: expected ../shared/fixtures beside the repository (or set TBAR_FIXTURES)";
    }
}
