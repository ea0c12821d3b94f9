using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tbar.Models;

/// <summary>Reads and writes the two config formats: HF config.json (+ preprocessor_config.json) and open_clip_config.json.</summary>
public static class ClipConfigFiles
{
    /// <summary>Parses a Hugging Face CLIPModel config.json; missing fields take transformers' CLIPConfig defaults.</summary>
    public static ClipConfig ReadHuggingFace(string configPath) => Guarded(configPath, ParseHuggingFace);

    /// <summary>Parses an open_clip_config.json (model_cfg + preprocess_cfg); features Tbar cannot compute are errors.</summary>
    public static ClipConfig ReadOpenClip(string configPath) => Guarded(configPath, ParseOpenClip);

    // System.Text.Json reports some defects only when a value is read: text it cannot decode (a lone surrogate escape) as
    // InvalidOperationException, a duplicate key as ArgumentException. Both mean a malformed file, not a bug.
    static ClipConfig Guarded(string configPath, Func<string, ClipConfig> parse)
    {
        try
        {
            return parse(configPath);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            throw new TbarException($"{configPath}: malformed JSON ({e.Message})", e);
        }
    }

    static ClipConfig ParseHuggingFace(string configPath)
    {
        var root = ReadObject(configPath);
        if (root["model_type"] is JsonNode mt && mt.ToString() != "clip")
            throw new TbarException($"{configPath}: model_type is '{mt}', expected 'clip'");
        var v = Section(root, "vision_config", configPath);
        var t = Section(root, "text_config", configPath);
        int image = Int(v, "image_size", 224, configPath);
        var vision = new VisionConfig(image, Int(v, "patch_size", 32, configPath), Int(v, "hidden_size", 768, configPath),
            Int(v, "num_hidden_layers", 12, configPath), Int(v, "num_attention_heads", 12, configPath),
            Int(v, "intermediate_size", 3072, configPath), HfActivation(v, configPath), Double(v, "layer_norm_eps", 1e-5, configPath));
        int eos = Int(t, "eos_token_id", 49407, configPath);
        // transformers pools at argmax for the legacy eos_token_id 2, else at the first end token.
        var text = new TextConfig(Int(t, "max_position_embeddings", 77, configPath), Int(t, "vocab_size", 49408, configPath),
            Int(t, "hidden_size", 512, configPath), Int(t, "num_hidden_layers", 12, configPath),
            Int(t, "num_attention_heads", 8, configPath), Int(t, "intermediate_size", 2048, configPath), HfActivation(t, configPath),
            eos == 2 ? TextPooling.Argmax : TextPooling.FirstEot, eos, Double(t, "layer_norm_eps", 1e-5, configPath));
        var config = new ClipConfig(Int(root, "projection_dim", 512, configPath), vision, text,
            HfPreprocess(Path.Combine(Path.GetDirectoryName(configPath) ?? ".", "preprocessor_config.json"), image),
            Double(root, "logit_scale_init_value", 2.6592, configPath));
        config.Validate(configPath);
        return config;
    }

    static ClipConfig ParseOpenClip(string configPath)
    {
        var root = ReadObject(configPath);
        var m = Section(root, "model_cfg", configPath);
        var v = Section(m, "vision_cfg", configPath);
        var t = Section(m, "text_cfg", configPath);
        RejectUnsupported(v, t, m, configPath);
        var act = Bool(m, "quick_gelu", false, configPath) ? Activation.QuickGelu : Activation.Gelu;
        int vWidth = Int(v, "width", 768, configPath), tWidth = Int(t, "width", 512, configPath);
        int image = ImageSize(v, configPath);
        int headWidth = Math.Max(1, Int(v, "head_width", 64, configPath));
        // open_clip builds a ModifiedResNet when vision_cfg.layers is a list (one block count per stage).
        ImageTowerConfig vision = v["layers"] is JsonArray stages
            ? new ModifiedResNetConfig(image, Ints(stages, "layers", configPath), vWidth, (int)Math.Min(int.MaxValue, 32L * vWidth / headWidth))
            : new VisionConfig(image, Int(v, "patch_size", 16, configPath), vWidth, Int(v, "layers", 12, configPath),
                vWidth / headWidth, (int)(vWidth * Double(v, "mlp_ratio", 4.0, configPath)), act);
        var text = new TextConfig(Int(t, "context_length", 77, configPath), Int(t, "vocab_size", 49408, configPath), tWidth,
            Int(t, "layers", 12, configPath), Int(t, "heads", 8, configPath), (int)(tWidth * Double(t, "mlp_ratio", 4.0, configPath)),
            act, TextPooling.Argmax);
        var p = root["preprocess_cfg"] as JsonObject ?? [];
        var pre = new PreprocessConfig(image, Floats(p, "mean", PreprocessConfig.ClipMean, configPath),
            Floats(p, "std", PreprocessConfig.ClipStd, configPath));
        var config = new ClipConfig(Int(m, "embed_dim", 512, configPath), vision, text, pre);
        config.Validate(configPath);
        return config;
    }

    /// <summary>config.json text for a new HF-layout model of this shape.</summary>
    public static string HuggingFaceJson(ClipConfig c)
    {
        var v = c.Vit("the Hugging Face layout");
        var root = new JsonObject
        {
            ["architectures"] = new JsonArray("CLIPModel"),
            ["model_type"] = "clip",
            ["projection_dim"] = c.EmbedDim,
            ["logit_scale_init_value"] = c.LogitScaleInit,
            ["text_config"] = new JsonObject
            {
                ["hidden_size"] = c.Text.Width, ["intermediate_size"] = c.Text.MlpWidth,
                ["num_attention_heads"] = c.Text.Heads, ["num_hidden_layers"] = c.Text.Layers,
                ["max_position_embeddings"] = c.Text.ContextLength, ["vocab_size"] = c.Text.VocabSize,
                ["hidden_act"] = HfName(c.Text.Act), ["layer_norm_eps"] = c.Text.LayerNormEps,
                ["bos_token_id"] = c.Text.EotTokenId - 1, ["eos_token_id"] = c.Text.EotTokenId, ["pad_token_id"] = 1,
            },
            ["vision_config"] = new JsonObject
            {
                ["hidden_size"] = v.Width, ["intermediate_size"] = v.MlpWidth,
                ["num_attention_heads"] = v.Heads, ["num_hidden_layers"] = v.Layers,
                ["image_size"] = v.ImageSize, ["patch_size"] = v.PatchSize, ["num_channels"] = 3,
                ["hidden_act"] = HfName(v.Act), ["layer_norm_eps"] = v.LayerNormEps,
            },
        };
        return root.ToJsonString(Indented);
    }

    /// <summary>preprocessor_config.json text matching <paramref name="c"/>'s normalisation.</summary>
    public static string HuggingFacePreprocessorJson(ClipConfig c) => new JsonObject
    {
        ["image_processor_type"] = "CLIPImageProcessor",
        ["do_resize"] = true, ["size"] = new JsonObject { ["shortest_edge"] = c.Preprocess.ImageSize },
        ["do_center_crop"] = true, ["crop_size"] = new JsonObject { ["height"] = c.Preprocess.ImageSize, ["width"] = c.Preprocess.ImageSize },
        ["do_normalize"] = true, ["image_mean"] = Array(c.Preprocess.Mean), ["image_std"] = Array(c.Preprocess.Std),
        ["resample"] = 3, ["do_rescale"] = true, ["rescale_factor"] = 1.0 / 255,
    }.ToJsonString(Indented);

    /// <summary>open_clip_config.json text for a new open_clip-layout model of this shape.</summary>
    public static string OpenClipJson(ClipConfig c)
    {
        // open_clip has one activation flag for both towers (a ModifiedResNet has none of its own).
        var act = c.Vision is VisionConfig vit ? vit.Act : c.Text.Act;
        // open_clip pools at argmax, which is the first end token whenever the end token is the largest id.
        bool poolingMatches = c.Text.Pooling == TextPooling.Argmax || c.Text.EotTokenId == c.Text.VocabSize - 1;
        if (act != c.Text.Act || act == Activation.GeluTanh || !poolingMatches)
            throw new TbarException("open_clip layout needs one activation (QuickGELU or GELU) for both towers and argmax pooling");
        var root = new JsonObject
        {
            ["model_cfg"] = new JsonObject
            {
                ["embed_dim"] = c.EmbedDim,
                ["quick_gelu"] = act == Activation.QuickGelu,
                ["vision_cfg"] = OpenClipVision(c.Vision),
                ["text_cfg"] = new JsonObject
                {
                    ["context_length"] = c.Text.ContextLength, ["vocab_size"] = c.Text.VocabSize, ["width"] = c.Text.Width,
                    ["heads"] = c.Text.Heads, ["layers"] = c.Text.Layers, ["mlp_ratio"] = (double)c.Text.MlpWidth / c.Text.Width,
                },
            },
            ["preprocess_cfg"] = new JsonObject { ["mean"] = Array(c.Preprocess.Mean), ["std"] = Array(c.Preprocess.Std) },
        };
        return root.ToJsonString(Indented);
    }

    static JsonObject OpenClipVision(ImageTowerConfig vision) => vision switch
    {
        VisionConfig v => new JsonObject
        {
            ["image_size"] = v.ImageSize, ["layers"] = v.Layers, ["width"] = v.Width,
            ["head_width"] = v.Width / v.Heads, ["mlp_ratio"] = (double)v.MlpWidth / v.Width, ["patch_size"] = v.PatchSize,
        },
        ModifiedResNetConfig r => new JsonObject
        {
            ["image_size"] = r.ImageSize, ["layers"] = new JsonArray(r.Layers.Select(n => (JsonNode)n).ToArray()),
            ["width"] = r.Width, ["head_width"] = r.FeatureWidth / r.Heads,
        },
        _ => throw new TbarException($"the open_clip layout cannot describe a {vision.Kind} image tower ({vision.Summary})"),
    };

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    static JsonArray Array(float[] values) => new(values.Select(v => (JsonNode)JsonValue.Create((double)v)!).ToArray());

    static void RejectUnsupported(JsonObject v, JsonObject t, JsonObject m, string path)
    {
        (JsonObject Obj, string Key, Func<JsonNode?, bool> Ok)[] checks =
        [
            (v, "timm_model_name", n => n is null), (t, "hf_model_name", n => n is null),
            (v, "ls_init_value", n => n is null), (t, "ls_init_value", n => n is null),
            (v, "attentional_pool", n => n is null || !n.GetValue<bool>()), (v, "no_ln_pre", n => n is null || !n.GetValue<bool>()),
            (v, "final_ln_after_pool", n => n is null || !n.GetValue<bool>()), (t, "final_ln_after_pool", n => n is null || !n.GetValue<bool>()),
            (v, "pool_type", n => n is null || n.ToString() == "tok"), (t, "pool_type", n => n is null || n.ToString() == "argmax"),
            (t, "embed_cls", n => n is null || !n.GetValue<bool>()), (t, "no_causal_mask", n => n is null || !n.GetValue<bool>()),
            (t, "proj_bias", n => n is null || !n.GetValue<bool>()), (m, "custom_text", n => n is null || !n.GetValue<bool>()),
        ];
        foreach (var (obj, key, ok) in checks)
        {
            bool fine;
            try { fine = ok(obj[key]); } catch (Exception e) when (e is InvalidOperationException or FormatException) { fine = false; }
            if (!fine) throw new TbarException($"{path}: '{key}' = {obj[key]?.ToJsonString()} is not supported by Tbar's CLIP");
        }
    }

    static Activation HfActivation(JsonObject section, string path)
    {
        string name = section["hidden_act"]?.ToString() ?? "quick_gelu";
        return name switch
        {
            "quick_gelu" => Activation.QuickGelu,
            "gelu" => Activation.Gelu,
            "gelu_new" or "gelu_pytorch_tanh" => Activation.GeluTanh,
            _ => throw new TbarException($"{path}: hidden_act '{name}' is not supported (quick_gelu, gelu, gelu_new, gelu_pytorch_tanh)"),
        };
    }

    static string HfName(Activation a) => a switch
    {
        Activation.QuickGelu => "quick_gelu",
        Activation.Gelu => "gelu",
        _ => "gelu_pytorch_tanh",
    };

    static PreprocessConfig HfPreprocess(string path, int imageSize)
    {
        if (!File.Exists(path)) return PreprocessConfig.Clip(imageSize);
        var p = ReadObject(path);
        return new PreprocessConfig(imageSize, Floats(p, "image_mean", PreprocessConfig.ClipMean, path),
            Floats(p, "image_std", PreprocessConfig.ClipStd, path));
    }

    static int ImageSize(JsonObject v, string path) => v["image_size"] switch
    {
        JsonArray a when a.Count == 2 && a[0]!.GetValue<int>() == a[1]!.GetValue<int>() => a[0]!.GetValue<int>(),
        JsonArray a => throw new TbarException($"{path}: non-square image_size {a.ToJsonString()} is not supported"),
        _ => Int(v, "image_size", 224, path),
    };

    internal static JsonObject ReadObject(string path)
    {
        if (!File.Exists(path)) throw new TbarException($"{path}: file not found");
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                ?? throw new TbarException($"{path}: expected a JSON object");
        }
        catch (JsonException e)
        {
            throw new TbarException($"{path}: invalid JSON ({e.Message})", e);
        }
    }

    static JsonObject Section(JsonObject root, string key, string path) => root[key] switch
    {
        null => [],
        JsonObject o => o,
        _ => throw new TbarException($"{path}: '{key}' must be an object"),
    };

    static T Value<T>(JsonObject o, string key, T fallback, string path)
    {
        if (o[key] is null) return fallback;
        try { return o[key]!.GetValue<T>(); }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new TbarException($"{path}: '{key}' = {o[key]!.ToJsonString()} is not a valid {typeof(T).Name}");
        }
    }

    static int Int(JsonObject o, string key, int fallback, string path)
    {
        double d = Value(o, key, (double)fallback, path);
        if (d != Math.Floor(d) || d < 0 || d > int.MaxValue) throw new TbarException($"{path}: '{key}' = {d} is not a non-negative integer");
        return (int)d;
    }

    static int[] Ints(JsonArray a, string key, string path) => a.Select(n =>
        n is JsonValue v && v.TryGetValue<double>(out double d) && d == Math.Floor(d) && d is >= 0 and <= int.MaxValue ? (int)d
            : throw new TbarException($"{path}: '{key}' = {a.ToJsonString()} must list non-negative integers")).ToArray();

    static double Double(JsonObject o, string key, double fallback, string path) => Value(o, key, fallback, path);
    static bool Bool(JsonObject o, string key, bool fallback, string path) => Value(o, key, fallback, path);

    static float[] Floats(JsonObject o, string key, float[] fallback, string path)
    {
        if (o[key] is null) return fallback;
        if (o[key] is not JsonArray a || a.Count != 3) throw new TbarException($"{path}: '{key}' must be an array of 3 numbers");
        return a.Select(n => n is JsonValue v && v.TryGetValue<double>(out double d) && double.IsFinite(d) ? (float)d
            : throw new TbarException($"{path}: '{key}' must be an array of 3 numbers")).ToArray();
    }
}
