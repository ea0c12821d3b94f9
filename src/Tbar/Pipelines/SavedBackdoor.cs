using System.Text.Json;
using System.Text.Json.Nodes;
using Tbar.Evaluation;
using Tbar.Io;
using Tbar.Models;
using Tbar.Training;
using Tbar.Unlearning;

namespace Tbar.Pipelines;

/// <summary>The attack.json beside a cell's backdoored model: the planted trigger, its test metrics and the training run.</summary>
public sealed record CellAttack(string TriggerSpec, AttackMetrics Test, TrainResult Training)
{
    /// <summary>Writes <paramref name="outcome"/>'s attack.json into <paramref name="folder"/>.</summary>
    public static void Write(string folder, AttackOutcome outcome) => AtomicFile.WriteText(Path.Combine(folder, "attack.json"),
        JsonSerializer.Serialize(new CellAttack(outcome.TriggerSpec, outcome.Test, outcome.Training), RunRecord.Json));

    /// <summary>The planted trigger's spec, as the attack.json in <paramref name="folder"/> records it.</summary>
    public static string TriggerSpecIn(string folder)
    {
        string path = Path.Combine(folder, "attack.json");
        return JsonNode.Parse(File.ReadAllText(path))?["trigger_spec"]?.GetValue<string>()
            ?? throw new TbarException($"{path}: no trigger_spec");
    }
}

/// <summary>
/// The backdoored model of an experiment's cell, kept in a folder of the cell so that a resumed or repeated run plants it once:
/// the arithmetic, main and compose experiments all go through <see cref="LoadOrPlant"/>.
/// </summary>
public static class SavedBackdoor
{
    /// <summary>
    /// The weights file that marks a folder <see cref="ClipCheckpoint.WriteInto"/> wrote for <paramref name="model"/>: the file of
    /// the model's own layout (HF's model.safetensors for a ViT loaded from HF, Tbar's tbar_model.safetensors for rn18-clip).
    /// </summary>
    public static string WeightsFile(Clip model) => CheckpointOrigin.WeightsFileName(model.Origin?.Layout ?? CheckpointLayout.HuggingFace);

    /// <summary>Whether <paramref name="dir"/> holds a saved model's weights, in any layout.</summary>
    public static bool HoldsModel(string dir) =>
        Enum.GetValues<CheckpointLayout>().Any(l => File.Exists(Path.Combine(dir, CheckpointOrigin.WeightsFileName(l))));

    /// <summary>
    /// The model saved in <paramref name="modelDir"/>. When there is none, <paramref name="plant"/> backdoors a fresh copy of the
    /// clean model at <paramref name="cleanPath"/> in place and returns what to write beside its weights; the folder is written
    /// as a whole (renamed into place) and the model is returned as saved, so a fresh run and a resumed one use the same weights.
    /// </summary>
    /// <remarks>
    /// The folder records the image-tower hash of the clean model it was planted from (source.json); a resumed run whose clean
    /// model has other weights (e.g. rn18-clip rebuilt by a newer recipe) is refused rather than mixed into the same table.
    /// </remarks>
    public static Clip LoadOrPlant(string modelDir, string cleanPath, Func<Clip, Action<string>> plant)
    {
        if (Directory.Exists(modelDir)) CheckSource(modelDir, cleanPath);
        else
        {
            using var clean = ClipCheckpoint.Load(cleanPath);
            string source = VisualWeights.Hash(clean); // before plant() changes the weights
            var writeBeside = plant(clean);
            AtomicFolder.Write(modelDir, WeightsFile(clean), stage =>
            {
                ClipCheckpoint.WriteInto(clean, stage);
                writeBeside(stage);
                AtomicFile.WriteText(Path.Combine(stage, SourceFile), JsonSerializer.Serialize(new { clean_visual_sha256 = source }) + "\n");
            });
        }
        return ClipCheckpoint.Load(modelDir);
    }

    /// <summary>The record of the clean model a saved backdoor was planted from.</summary>
    public const string SourceFile = "source.json";

    /// <summary>
    /// Throws when <paramref name="modelDir"/> records another clean model than the one at <paramref name="cleanPath"/> (folders
    /// from before the record pass unchecked; the clean model is loaded only to check a record).
    /// </summary>
    static void CheckSource(string modelDir, string cleanPath)
    {
        string path = Path.Combine(modelDir, SourceFile);
        if (!File.Exists(path)) return;
        string? recorded = JsonNode.Parse(File.ReadAllText(path))?["clean_visual_sha256"]?.GetValue<string>();
        string source;
        using (var clean = ClipCheckpoint.Load(cleanPath)) source = VisualWeights.Hash(clean);
        if (recorded != source)
            throw new TbarException($"{modelDir} was planted from another clean model (image tower sha256 {recorded?[..12]}…) than " +
                $"{cleanPath} ({source[..12]}…): write to a new --out folder, or delete the cell to plant it again");
    }
}
