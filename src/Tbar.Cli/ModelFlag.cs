using Tbar.Pipelines;

namespace Tbar.Cli;

/// <summary>
/// The embedded model names accepted wherever a model path is: "mini-clip" (the shipped folder) and "rn18-clip" (built
/// from the ResNet18 package into ~/.cache/tbar/rn18-v2/rn18-clip on first use). A real path of the same name wins.
/// </summary>
static class ModelNames
{
    static readonly string[] ModelOptions = ["--model", "--pretrained", "--models"];

    /// <summary>The recipe behind the cached rn18-clip (what <c>tbar pretrain --arch rn18-clip</c> runs by default).</summary>
    public static readonly Rn18ClipOptions Rn18Recipe = new();

    /// <summary>The arguments with every embedded name given to a model option replaced by its folder.</summary>
    public static string[] Rewrite(string[] args, TextWriter stdout)
    {
        var result = (string[])args.Clone();
        bool inModelOption = false;
        for (int i = 0; i < result.Length; i++)
        {
            string a = result[i];
            int eq = a.IndexOf('=');
            if (a.StartsWith("--") && eq > 0 && ModelOptions.Contains(a[..eq])) result[i] = a[..(eq + 1)] + Resolve(a[(eq + 1)..], stdout);
            else if (a.StartsWith('-')) inModelOption = ModelOptions.Contains(a);
            else if (inModelOption) result[i] = Resolve(a, stdout);
        }
        return result;
    }

    /// <summary>A path, or the folder of an embedded name (building rn18-clip when its cache is empty).</summary>
    public static string Resolve(string pathOrName, TextWriter stdout)
    {
        if (File.Exists(pathOrName) || Directory.Exists(pathOrName)) return pathOrName;
        return pathOrName switch
        {
            "mini-clip" => Defaults.MiniClip,
            "rn18-clip" => Rn18Clip(stdout),
            _ => pathOrName,
        };
    }

    static string Rn18Clip(TextWriter stdout)
    {
        string dir = Io.CachePaths.Rn18Clip;
        if (File.Exists(Path.Combine(dir, "tbar_model.safetensors"))) return dir;
        stdout.WriteLine($"building rn18-clip into {dir} (first use; `tbar pretrain --arch rn18-clip` recipe)");
        var (result, seconds) = PretrainCommand.Build(dir, "rn18-clip", Rn18Recipe, Rn18Recipe.Seed,
            (partial, p) => Pipelines.Rn18Clip.Run(Rn18Recipe, partial, p), stdout);
        stdout.WriteLine($"rn18-clip: zero-shot test accuracy {result.ZeroShotTestAccuracy}, {seconds / 60:F1} min");
        return dir;
    }
}
