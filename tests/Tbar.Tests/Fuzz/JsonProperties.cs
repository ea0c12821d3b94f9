using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Xunit;
using Tbar.Inversion;
using Tbar.Models;

namespace Tbar.Tests.Fuzz;

/// <summary>
/// The JSON readers (HF and open_clip configs, ViT and RN50, tokenizer vocab, scan calibration) on mutated copies of valid files,
/// 1,000 cases each: byte mutations and structural ones (a value replaced by another JSON value).
/// </summary>
public class JsonProperties : TempFolder
{
    const int Cases = 1000;
    static readonly string MiniClip = Path.Combine(Fixtures.RepoRoot, "models", "mini-clip");
    static readonly string[] Replacements = ["null", "-1", "0", "1e400", "1.5", "\"x\"", "[]", "{}", "[1,2,3]", "true", "99999999999", "{\"a\":[null]}"];

    /// <summary>Either a byte mutation or one JSON value swapped for another, drawn from the seed.</summary>
    static byte[] Mutate(string text, int caseSeed)
    {
        var rng = new Random(caseSeed);
        if (rng.Next(2) == 0) return Tbar.Fuzz.Mutator.Mutate(Encoding.UTF8.GetBytes(text), caseSeed);
        var root = JsonNode.Parse(text)!;
        var values = Descendants(root).ToList();
        var victim = values[rng.Next(values.Count)];
        var replacement = JsonNode.Parse(Replacements[rng.Next(Replacements.Length)]);
        switch (victim.Parent)
        {
            case JsonObject o: o[victim.GetPropertyName()] = replacement; break;
            case JsonArray a: a[victim.GetElementIndex()] = replacement; break;
            default: return Encoding.UTF8.GetBytes(replacement?.ToJsonString() ?? "null");
        }
        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }

    static IEnumerable<JsonNode> Descendants(JsonNode node)
    {
        yield return node;
        var children = node switch { JsonObject o => o.Select(p => p.Value), JsonArray a => a.AsEnumerable(), _ => [] };
        foreach (var child in children.OfType<JsonNode>())
            foreach (var d in Descendants(child)) yield return d;
    }

    string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(temp, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Property(MaxTest = Cases)]
    public void MutatedHuggingFaceConfigsGiveAConfigOrAClearError(DoNotSize<int> caseSeed)
    {
        string path = Write("config.json", Mutate(File.ReadAllText(Path.Combine(MiniClip, "config.json")), caseSeed.Item));
        ReaderProperties.AcceptsOrRejectsClearly(() => ClipConfigFiles.ReadHuggingFace(path), path);
    }

    [Property(MaxTest = Cases)]
    public void MutatedOpenClipConfigsGiveAConfigOrAClearError(DoNotSize<int> caseSeed)
    {
        var valid = ClipConfigFiles.OpenClipJson(ClipConfigFiles.ReadHuggingFace(Path.Combine(MiniClip, "config.json")));
        string path = Write("open_clip_config.json", Mutate(valid, caseSeed.Item));
        ReaderProperties.AcceptsOrRejectsClearly(() => ClipConfigFiles.ReadOpenClip(path), path);
    }

    [Property(MaxTest = Cases)]
    public void MutatedRn50OpenClipConfigsGiveAConfigOrAClearError(DoNotSize<int> caseSeed)
    {
        // vision_cfg.layers is a list here (a ModifiedResNet), so structural mutations reach the list reader.
        string path = Write("open_clip_config.json", Mutate(ClipConfigFiles.OpenClipJson(Tbar.Fuzz.Targets.TinyRn50), caseSeed.Item));
        ReaderProperties.AcceptsOrRejectsClearly(() => ClipConfigFiles.ReadOpenClip(path), path);
    }

    [Property(MaxTest = Cases)]
    public void MutatedScanCalibrationsLoadOrGiveAClearError(DoNotSize<int> caseSeed)
    {
        string path = Write("scan-calibration.json", Mutate(File.ReadAllText(Path.Combine(MiniClip, "scan-calibration.json")), caseSeed.Item));
        ReaderProperties.AcceptsOrRejectsClearly(() => ScanCalibration.Load(path), path);
    }

    [Property(MaxTest = Cases)]
    public void MutatedVocabulariesGiveATokenizerOrAClearError(DoNotSize<int> caseSeed)
    {
        string vocab = Write("vocab.json", Mutate(File.ReadAllText(Path.Combine(MiniClip, "vocab.json")), caseSeed.Item));
        ReaderProperties.AcceptsOrRejectsClearly(() => ClipTokenizer.FromFiles(vocab, Path.Combine(MiniClip, "merges.txt")).Encode("a bag"), vocab);
    }
}
