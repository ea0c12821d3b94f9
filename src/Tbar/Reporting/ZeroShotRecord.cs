using System.Text.Json;
using Tbar.Io;
using Tbar.Models;

namespace Tbar.Reporting;

/// <summary>What `tbar zeroshot --json F` writes: the model, the class names and one prediction per image.</summary>
public sealed record ZeroShotRecord(string Model, string[] Classes, IReadOnlyList<ZeroShotPrediction> Predictions)
{
    public void Save(string path) => AtomicFile.WriteText(path, JsonSerializer.Serialize(this, RunRecord.Json) + "\n");
}
