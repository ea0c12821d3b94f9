using System.Text.Json;
using Tbar.Io;
using Tbar.Models;

namespace Tbar.Reporting;

/// <summary>What `tbar embed` writes: the inputs, token ids, projected embeddings (before normalisation) and CLIP logits.</summary>
public sealed record EmbedRecord(string Model, string[] Images, string[] Texts, long[][] TokenIds, float[][] ImageEmbeddings,
    float[][] TextEmbeddings, float[][] LogitsPerImage, string Note)
{
    public const string EmbeddingNote = "embeddings are the projected features before L2 normalisation";

    public static EmbedRecord From(string model, string[] images, string[] texts, EmbedResult r) =>
        new(model, images, texts, r.TokenIds, r.ImageEmbeddings, r.TextEmbeddings, r.LogitsPerImage, EmbeddingNote);

    public void Save(string path) => AtomicFile.WriteText(path, JsonSerializer.Serialize(this, RunRecord.Json) + "\n");
}
