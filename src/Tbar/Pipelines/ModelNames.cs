using Tbar.Io;

namespace Tbar.Pipelines;

/// <summary>
/// The embedded model names accepted wherever a model path is: "mini-clip" (the shipped folder) and "rn18-clip" (built
/// from the ResNet18 package into ~/.cache/tbar/rn18-v2/rn18-clip on first use). A real path of the same name wins. Names
/// are resolved where a model is used (<see cref="Workbench"/>, the commands that hand a path to a pipeline), never by
/// rewriting arguments.
/// </summary>
public static class ModelNames
{
    /// <summary>The recipe behind the cached rn18-clip (what <c>tbar pretrain --arch rn18-clip</c> runs by default).</summary>
    public static readonly Rn18ClipOptions Rn18Recipe = new();

    /// <summary>The shipped mini-CLIP, found relative to the working directory or the folder holding the program.</summary>
    public static string MiniClip
    {
        get
        {
            const string relative = "models/mini-clip";
            if (Directory.Exists(relative)) return relative;
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
                if (Directory.Exists(Path.Combine(dir.FullName, relative))) return Path.Combine(dir.FullName, relative);
            return relative;
        }
    }

    /// <summary>
    /// A path, or the folder of an embedded name; rn18-clip is built when its cache is empty (<paramref name="status"/> hears
    /// when, <paramref name="progress"/> follows the training).
    /// </summary>
    public static string Resolve(string pathOrName, Action<string>? status = null, IProgress<TrainProgress>? progress = null)
    {
        if (File.Exists(pathOrName) || Directory.Exists(pathOrName)) return pathOrName;
        return pathOrName switch
        {
            "mini-clip" => MiniClip,
            "rn18-clip" => Rn18Clip(status, progress),
            _ => pathOrName,
        };
    }

    /// <summary>Whether resolving <paramref name="pathOrName"/> would build a model (rn18-clip with an empty cache).</summary>
    public static bool NeedsBuild(string pathOrName) => pathOrName == "rn18-clip" && !File.Exists(pathOrName) && !Directory.Exists(pathOrName)
        && !File.Exists(Path.Combine(CachePaths.Rn18Clip, "tbar_model.safetensors"));

    static string Rn18Clip(Action<string>? status, IProgress<TrainProgress>? progress)
    {
        string dir = CachePaths.Rn18Clip;
        if (File.Exists(Path.Combine(dir, "tbar_model.safetensors"))) return dir;
        status?.Invoke($"building rn18-clip into {dir} (first use; `tbar pretrain --arch rn18-clip` recipe)");
        var (result, seconds) = PretrainedModel.Build(dir, "tbar pretrain --arch rn18-clip (first use of rn18-clip)", Rn18Recipe,
            Rn18Recipe.Seed, (partial, p) => Pipelines.Rn18Clip.Run(Rn18Recipe, partial, p), progress);
        status?.Invoke($"rn18-clip: zero-shot test accuracy {result.ZeroShotTestAccuracy}, {seconds / 60:F1} min");
        return dir;
    }
}
