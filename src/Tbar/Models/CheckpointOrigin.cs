using static TorchSharp.torch;

namespace Tbar.Models;

/// <summary>Where a model's weights came from, and what saving back in that layout needs.</summary>
/// <param name="Layout">The key naming and file names.</param>
/// <param name="WeightsPath">The safetensors file read.</param>
/// <param name="ConfigPath">The config file read (copied unchanged on save).</param>
/// <param name="StoredDTypes">Stored dtype of every mapped key, so a save writes each key back in its own dtype.</param>
/// <param name="Extras">Stored tensors no rule consumes (e.g. HF's position_ids); passed through unchanged on save.</param>
/// <param name="Metadata">The file's __metadata__, written back on save.</param>
public sealed record CheckpointOrigin(CheckpointLayout Layout, string WeightsPath, string ConfigPath,
    IReadOnlyDictionary<string, ScalarType> StoredDTypes, IReadOnlyDictionary<string, Tensor> Extras,
    IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>The folder holding the checkpoint.</summary>
    public string Folder => Path.GetDirectoryName(Path.GetFullPath(WeightsPath)) ?? ".";

    /// <summary>Weights file name of a layout.</summary>
    public static string WeightsFileName(CheckpointLayout layout) => layout switch
    {
        CheckpointLayout.OpenClip => "open_clip_model.safetensors",
        CheckpointLayout.Tbar => "tbar_model.safetensors",
        _ => "model.safetensors",
    };

    /// <summary>Config file name of a layout.</summary>
    public static string ConfigFileName(CheckpointLayout layout) => layout switch
    {
        CheckpointLayout.OpenClip => "open_clip_config.json",
        CheckpointLayout.Tbar => "tbar_config.json",
        _ => "config.json",
    };
}
