using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tbar.Models;

/// <summary>
/// tbar_config.json, the config of Tbar's own layout (any image tower, keys = internal names): one JSON object naming the
/// architecture and every shape field. Unknown or missing keys are errors naming the file.
/// </summary>
public static class TbarConfigFile
{
    /// <summary>The file text for <paramref name="c"/>; <paramref name="architecture"/> is a free name such as "rn18-clip".</summary>
    public static string Json(ClipConfig c, string architecture) =>
        JsonSerializer.Serialize(new FileDto(architecture, c.EmbedDim, c.LogitScaleInit, VisionDto.From(c.Vision), TextDto.From(c.Text),
            new PreprocessDto(c.Preprocess.ImageSize, c.Preprocess.Mean, c.Preprocess.Std)), Options);

    /// <summary>Parses and validates a tbar_config.json.</summary>
    public static ClipConfig Read(string path)
    {
        FileDto dto;
        try
        {
            dto = JsonSerializer.Deserialize<FileDto>(File.ReadAllText(path), Options) ?? throw new TbarException($"{path}: empty config");
        }
        catch (JsonException e)
        {
            throw new TbarException($"{path}: not a valid tbar_config.json ({e.Message})", e);
        }
        var p = dto.Preprocess;
        if (p.Mean.Length != 3 || p.Std.Length != 3) throw new TbarException($"{path}: preprocess mean and std need 3 numbers each");
        var config = new ClipConfig(dto.EmbedDim, dto.Vision.ToConfig(path), dto.Text.ToConfig(), new PreprocessConfig(p.ImageSize, p.Mean, p.Std),
            dto.LogitScaleInit);
        config.Validate(path);
        return config;
    }

    static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectRequiredConstructorParameters = true,
        RespectNullableAnnotations = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    sealed record FileDto(string Architecture, int EmbedDim, double LogitScaleInit, VisionDto Vision, TextDto Text, PreprocessDto Preprocess);

    sealed record PreprocessDto(int ImageSize, float[] Mean, float[] Std);

    // One record for both towers: "kind" says which fields apply (vit: patch/width/layers/heads/mlp/act; resnet: blocks/widths).
    sealed record VisionDto(string Kind, int ImageSize, double Eps, int? PatchSize = null, int? Width = null, int? Layers = null,
        int? Heads = null, int? MlpWidth = null, Activation? Act = null, int[]? Blocks = null, int[]? Widths = null)
    {
        public static VisionDto From(ImageTowerConfig v) => v switch
        {
            VisionConfig t => new("vit", t.ImageSize, t.LayerNormEps, t.PatchSize, t.Width, t.Layers, t.Heads, t.MlpWidth, t.Act),
            ResNetConfig r => new("resnet", r.ImageSize, r.BatchNormEps, Blocks: r.Blocks.ToArray(), Widths: r.Widths.ToArray()),
            _ => throw new TbarException($"tbar_config.json cannot describe a {v.Kind} image tower"),
        };

        public ImageTowerConfig ToConfig(string path) => Kind switch
        {
            "vit" => new VisionConfig(ImageSize, Need(PatchSize, "patch_size", path), Need(Width, "width", path), Need(Layers, "layers", path),
                Need(Heads, "heads", path), Need(MlpWidth, "mlp_width", path), Need(Act, "act", path), Eps),
            "resnet" => new ResNetConfig(ImageSize, Need(Blocks, "blocks", path), Need(Widths, "widths", path), Eps),
            _ => throw new TbarException($"{path}: vision kind '{Kind}' is not known (vit, resnet)"),
        };

        static T Need<T>(T? value, string key, string path) where T : class =>
            value ?? throw new TbarException($"{path}: vision needs '{key}'");
        static T Need<T>(T? value, string key, string path, int _ = 0) where T : struct =>
            value ?? throw new TbarException($"{path}: vision needs '{key}'");
    }

    sealed record TextDto(int ContextLength, int VocabSize, int Width, int Layers, int Heads, int MlpWidth, Activation Act,
        TextPooling Pooling, int EotTokenId, double Eps)
    {
        public static TextDto From(TextConfig t) =>
            new(t.ContextLength, t.VocabSize, t.Width, t.Layers, t.Heads, t.MlpWidth, t.Act, t.Pooling, t.EotTokenId, t.LayerNormEps);

        public TextConfig ToConfig() => new(ContextLength, VocabSize, Width, Layers, Heads, MlpWidth, Act, Pooling, EotTokenId, Eps);
    }
}
