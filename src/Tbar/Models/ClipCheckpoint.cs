using Tbar.Io;
using static TorchSharp.torch;

namespace Tbar.Models;

/// <summary>What loading found besides the weights (shown to the user, never silently dropped).</summary>
public sealed record LoadReport(CheckpointLayout Layout, string WeightsPath, string ConfigPath, IReadOnlyList<string> IgnoredKeys);

/// <summary>Loads a CLIP from an HF or open_clip folder/file and saves it back in the same layout and key names.</summary>
public static class ClipCheckpoint
{
    static readonly string[] PickleSuffixes = [".bin", ".pt", ".pth", ".ckpt", ".pkl"];

    /// <summary>Loads the model at <paramref name="path"/> (a folder, or a .safetensors file with its config beside it).</summary>
    public static Clip Load(string path) => Load(path, out _);

    /// <summary>As <see cref="Load(string)"/>, also returning what was ignored.</summary>
    public static Clip Load(string path, out LoadReport report)
    {
        var (layout, weights, configPath) = Resolve(path);
        var config = ReadConfig(layout, configPath);
        var file = SafeTensors.Open(weights);
        RequireRoomFor(config, file, configPath);
        var model = new Clip(config);
        var (dtypes, extras) = CopyWeights(model, file, layout);
        model.Origin = new CheckpointOrigin(layout, weights, configPath, dtypes, extras, file.Metadata);
        model.eval();
        report = new LoadReport(layout, weights, configPath, extras.Keys.ToList());
        return model;
    }

    /// <summary>The config of the model at <paramref name="path"/>, without loading its weights.</summary>
    public static ClipConfig ReadConfig(string path)
    {
        var (layout, _, configPath) = Resolve(path);
        return ReadConfig(layout, configPath);
    }

    static ClipConfig ReadConfig(CheckpointLayout layout, string configPath) => layout switch
    {
        CheckpointLayout.OpenClip => ClipConfigFiles.ReadOpenClip(configPath),
        CheckpointLayout.Tbar => TbarConfigFile.Read(configPath),
        _ => ClipConfigFiles.ReadHuggingFace(configPath),
    };

    // Every parameter is stored in ≥ 2 bytes, so a config that implies more than the file can hold disagrees with the
    // weights: an error before the model is allocated (a hostile config could otherwise ask for any amount of memory).
    static void RequireRoomFor(ClipConfig config, SafeTensorsFile file, string configPath)
    {
        long stored = file.Entries.Sum(e => e.End - e.Begin), needed = 2 * config.MinimumParameters();
        if (needed > stored)
            throw new TbarException($"{configPath}: the config implies at least {needed / 2:N0} parameters ({needed:N0} bytes), but " +
                $"{file.Path} holds {stored:N0} bytes of tensors: config and weights disagree");
    }

    /// <summary>Finds layout, weights file and config file for a folder or a weights file.</summary>
    public static (CheckpointLayout Layout, string Weights, string Config) Resolve(string path)
    {
        if (Directory.Exists(path)) return ResolveFolder(path);
        if (!File.Exists(path)) throw new TbarException($"{path}: no such file or folder");
        if (PickleSuffixes.Contains(Path.GetExtension(path).ToLowerInvariant()))
            throw new TbarException($"{path}: pickle checkpoints are never loaded (untrusted code); convert it to safetensors");
        if (!path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            throw new TbarException($"{path}: expected a .safetensors weights file or a model folder");
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var layout = File.Exists(Path.Combine(dir, CheckpointOrigin.ConfigFileName(CheckpointLayout.Tbar)))
            ? CheckpointLayout.Tbar : DetectLayout(SafeTensors.Open(path), path);
        string config = Path.Combine(dir, CheckpointOrigin.ConfigFileName(layout));
        if (!File.Exists(config)) throw new TbarException($"{path}: {layout} weights need {Path.GetFileName(config)} beside them");
        return (layout, path, config);
    }

    static (CheckpointLayout, string, string) ResolveFolder(string dir)
    {
        foreach (var layout in new[] { CheckpointLayout.Tbar, CheckpointLayout.OpenClip, CheckpointLayout.HuggingFace })
        {
            string w = Path.Combine(dir, CheckpointOrigin.WeightsFileName(layout)), c = Path.Combine(dir, CheckpointOrigin.ConfigFileName(layout));
            if (File.Exists(w) && File.Exists(c)) return (layout, w, c);
            if (File.Exists(w)) throw new TbarException($"{dir}: has {Path.GetFileName(w)} but no {Path.GetFileName(c)}");
        }
        var pickles = Directory.EnumerateFiles(dir).Where(f => PickleSuffixes.Contains(Path.GetExtension(f).ToLowerInvariant())).ToList();
        string hint = pickles.Count > 0
            ? $" (found {Path.GetFileName(pickles[0])}: pickle checkpoints are never loaded; convert to safetensors)" : "";
        throw new TbarException($"{dir}: not a CLIP model folder: expected config.json + model.safetensors (Hugging Face), " +
            $"open_clip_config.json + open_clip_model.safetensors (open_clip) or tbar_config.json + tbar_model.safetensors (Tbar){hint}");
    }

    static CheckpointLayout DetectLayout(SafeTensorsFile file, string path)
    {
        if (file.Entries.Any(e => e.Name.StartsWith("vision_model."))) return CheckpointLayout.HuggingFace;
        if (file.Entries.Any(e => e.Name.StartsWith("visual."))) return CheckpointLayout.OpenClip;
        throw new TbarException($"{path}: no vision_model.* (Hugging Face) or visual.* (open_clip) keys: not a CLIP checkpoint");
    }

    static (Dictionary<string, ScalarType>, Dictionary<string, Tensor>) CopyWeights(Clip model, SafeTensorsFile file, CheckpointLayout layout)
    {
        var rules = Layouts.Rules(layout, model.Config);
        var parameters = model.StateTensors();
        CheckKeys(file, rules, parameters.Count);
        var dtypes = new Dictionary<string, ScalarType>();
        using (no_grad())
        {
            foreach (var rule in rules)
            {
                var target = parameters[rule.Internal];
                using var scope = NewDisposeScope();
                var stored = rule.External.Select((key, i) => ReadChecked(file, key, rule.ExternalShape(target.shape, i),
                    target.is_floating_point())).ToList();
                foreach (var (key, t) in rule.External.Zip(stored)) dtypes[key] = t.dtype;
                target.copy_(rule.ToInternal(stored).to(target.dtype));
                if (!target.isfinite().all().item<bool>())
                    throw new TbarException($"{file.Path}: tensor '{string.Join("', '", rule.External)}' holds NaN or infinite values");
            }
        }
        var used = rules.SelectMany(r => r.External).ToHashSet();
        var extras = file.Entries.Where(e => !used.Contains(e.Name)).ToDictionary(e => e.Name, e => file.ReadTensor(e.Name));
        return (dtypes, extras);
    }

    static void CheckKeys(SafeTensorsFile file, IReadOnlyList<KeyRule> rules, int parameterCount)
    {
        if (rules.Count != parameterCount)
            throw new InvalidOperationException($"key map has {rules.Count} rules for {parameterCount} stored tensors");
        var missing = rules.SelectMany(r => r.External).Where(k => !file.Contains(k)).ToList();
        if (missing.Count > 0)
            throw new TbarException($"{file.Path}: {missing.Count} expected key(s) missing, e.g. '{string.Join("', '", missing.Take(5))}'" +
                " (does the config's depth/width match the weights?)");
    }

    // A floating-point target (parameters, BatchNorm statistics) takes any float dtype; an integer one (BatchNorm's
    // num_batches_tracked) takes I64 only, so a count is never rounded through a float.
    static Tensor ReadChecked(SafeTensorsFile file, string key, long[] shape, bool floating)
    {
        var entry = file.Entry(key);
        if (!entry.Shape.SequenceEqual(shape))
            throw new TbarException($"{file.Path}: tensor '{key}' has shape [{string.Join(",", entry.Shape)}], " +
                $"the config implies [{string.Join(",", shape)}]");
        if (floating && entry.DType is not (SafeDType.F32 or SafeDType.F16 or SafeDType.BF16 or SafeDType.F64))
            throw new TbarException($"{file.Path}: tensor '{key}' has dtype {entry.DType}, expected a floating-point type");
        if (!floating && entry.DType != SafeDType.I64)
            throw new TbarException($"{file.Path}: tensor '{key}' has dtype {entry.DType}, expected I64 (a count)");
        return file.ReadTensor(key);
    }

    /// <summary>
    /// Writes the model as the folder <paramref name="outDir"/>, as a whole (<see cref="AtomicFolder"/>), in its origin's
    /// layout (or <paramref name="layout"/> for an in-memory model): weights with the original key names and dtypes, extras
    /// passed through, config and tokenizer files copied. Returns the weights path.
    /// <paramref name="architecture"/> names the model in a new Tbar-layout config.
    /// </summary>
    public static string Save(Clip model, string outDir, CheckpointLayout? layout = null, string architecture = "clip")
    {
        var target = layout ?? model.Origin?.Layout ?? CheckpointLayout.HuggingFace;
        AtomicFolder.Write(outDir, CheckpointOrigin.WeightsFileName(target), stage => WriteInto(model, stage, target, architecture),
            model.Origin?.Folder);
        return Path.Combine(outDir, CheckpointOrigin.WeightsFileName(target));
    }

    /// <summary>As <see cref="Save"/>, into an existing folder (a command's staged output folder); returns the weights path.</summary>
    public static string WriteInto(Clip model, string outDir, CheckpointLayout? layout = null, string architecture = "clip")
    {
        if (model.TextParked) throw new TbarException("the text tower is parked (ParkedText): restore it before writing the model");
        var origin = model.Origin;
        var target = layout ?? origin?.Layout ?? CheckpointLayout.HuggingFace;
        if (origin != null && Path.GetFullPath(outDir).TrimEnd('/') == origin.Folder.TrimEnd('/'))
            throw new TbarException($"{outDir}: is the input checkpoint's folder; inputs are never overwritten, choose another --out");
        string weights = Path.Combine(outDir, CheckpointOrigin.WeightsFileName(target));
        using var scope = NewDisposeScope();
        var tensors = StoredTensors(model, target, origin?.Layout == target ? origin : null);
        SafeTensors.Save(weights, tensors, origin?.Layout == target ? origin.Metadata : new Dictionary<string, string> { ["format"] = "pt" });
        WriteCompanions(model, outDir, target, architecture);
        return weights;
    }

    static Dictionary<string, Tensor> StoredTensors(Clip model, CheckpointLayout layout, CheckpointOrigin? origin)
    {
        var parameters = model.StateTensors();
        var result = new Dictionary<string, Tensor>();
        using (no_grad())
        {
            foreach (var rule in Layouts.Rules(layout, model.Config))
            {
                var parts = rule.ToExternal(parameters[rule.Internal].detach());
                for (int i = 0; i < parts.Length; i++)
                {
                    string key = rule.External[i];
                    // A new file stores floats as F32 and counts in their own dtype (I64).
                    var fresh = parts[i].is_floating_point() ? ScalarType.Float32 : parts[i].dtype;
                    var dtype = origin?.StoredDTypes.GetValueOrDefault(key, fresh) ?? fresh;
                    result[key] = parts[i].to(dtype);
                }
            }
        }
        foreach (var (key, t) in origin?.Extras ?? new Dictionary<string, Tensor>()) result[key] = t;
        return result;
    }

    static void WriteCompanions(Clip model, string outDir, CheckpointLayout layout, string architecture)
    {
        var origin = model.Origin;
        if (origin != null && origin.Layout == layout)
        {
            CopyCompanions(origin, outDir);
            return;
        }
        string configText = layout switch
        {
            CheckpointLayout.OpenClip => ClipConfigFiles.OpenClipJson(model.Config),
            CheckpointLayout.Tbar => TbarConfigFile.Json(model.Config, architecture),
            _ => ClipConfigFiles.HuggingFaceJson(model.Config),
        };
        AtomicFile.WriteText(Path.Combine(outDir, CheckpointOrigin.ConfigFileName(layout)), configText);
        if (layout == CheckpointLayout.HuggingFace)
            AtomicFile.WriteText(Path.Combine(outDir, "preprocessor_config.json"), ClipConfigFiles.HuggingFacePreprocessorJson(model.Config));
    }

    // The config, tokenizer and processor files travel with the weights; other files (e.g. pickles) do not.
    static void CopyCompanions(CheckpointOrigin origin, string outDir)
    {
        string src = origin.Folder, dst = Path.GetFullPath(outDir);
        if (string.Equals(Path.GetFullPath(src), dst, StringComparison.Ordinal)) return;
        foreach (var file in Directory.EnumerateFiles(src))
        {
            string ext = Path.GetExtension(file).ToLowerInvariant();
            if ((ext is ".json" or ".txt") && new FileInfo(file).Length < 64 << 20)
                AtomicFile.WriteBytes(Path.Combine(dst, Path.GetFileName(file)), File.ReadAllBytes(file));
        }
    }
}
