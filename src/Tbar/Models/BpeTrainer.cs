using System.Text;
using Tbar.Io;

namespace Tbar.Models;

/// <summary>
/// Learns a CLIP-style byte-level BPE vocabulary from a text corpus and writes it as vocab.json + merges.txt,
/// in CLIP's order: 256 byte symbols, the same with "&lt;/w&gt;", one token per merge, then the start and end tokens.
/// </summary>
public static class BpeTrainer
{
    /// <summary>Learns up to <paramref name="maxMerges"/> merges (stopping when no pair occurs twice).</summary>
    public static (List<string> Vocab, List<(string, string)> Merges) Learn(IEnumerable<string> corpus, int maxMerges)
    {
        var words = WordCounts(corpus);
        var merges = new List<(string, string)>();
        while (merges.Count < maxMerges)
        {
            var best = MostFrequentPair(words);
            if (best is null) break;
            merges.Add(best.Value);
            words = MergeAll(words, best.Value);
        }
        var alphabet = ClipText.ByteSymbols();
        var vocab = alphabet.Concat(alphabet.Select(s => s + ClipText.EndOfWord)).Concat(merges.Select(m => m.Item1 + m.Item2))
            .Append(ClipText.StartOfText).Append(ClipText.EndOfText).ToList();
        return (vocab, merges);
    }

    /// <summary>Writes vocab.json (token → id) and merges.txt into <paramref name="dir"/>, atomically.</summary>
    public static void Write(string dir, List<string> vocab, List<(string, string)> merges)
    {
        Directory.CreateDirectory(dir);
        var json = System.Text.Json.JsonSerializer.Serialize(vocab.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i),
            new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        AtomicFile.WriteText(Path.Combine(dir, "vocab.json"), json);
        var lines = new StringBuilder("#version: 0.2\n");
        foreach (var (a, b) in merges) lines.Append(a).Append(' ').Append(b).Append('\n');
        AtomicFile.WriteText(Path.Combine(dir, "merges.txt"), lines.ToString());
    }

    // Each distinct pre-token as its symbol sequence (last symbol marked end-of-word), with its count.
    static Dictionary<string[], int> WordCounts(IEnumerable<string> corpus)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var text in corpus)
            foreach (var word in ClipText.PreTokenize(ClipText.Clean(text)))
                counts[word] = counts.GetValueOrDefault(word) + 1;
        return counts.ToDictionary(p => Symbols(p.Key), p => p.Value);
    }

    static string[] Symbols(string word)
    {
        var symbols = ClipText.ByteEncode(word).Select(c => c.ToString()).ToArray();
        symbols[^1] += ClipText.EndOfWord;
        return symbols;
    }

    // Most frequent adjacent pair occurring at least twice; ties broken by ordinal order so runs are deterministic.
    static (string, string)? MostFrequentPair(Dictionary<string[], int> words)
    {
        var pairs = new Dictionary<(string, string), int>();
        foreach (var (symbols, count) in words)
            for (int i = 0; i + 1 < symbols.Length; i++)
                pairs[(symbols[i], symbols[i + 1])] = pairs.GetValueOrDefault((symbols[i], symbols[i + 1])) + count;
        var best = pairs.Where(p => p.Value >= 2).OrderByDescending(p => p.Value)
            .ThenBy(p => p.Key.Item1, StringComparer.Ordinal).ThenBy(p => p.Key.Item2, StringComparer.Ordinal).ToList();
        return best.Count == 0 ? null : best[0].Key;
    }

    static Dictionary<string[], int> MergeAll(Dictionary<string[], int> words, (string A, string B) pair)
    {
        var result = new Dictionary<string[], int>();
        foreach (var (symbols, count) in words)
        {
            var merged = new List<string>(symbols.Length);
            for (int i = 0; i < symbols.Length; i++)
            {
                if (i + 1 < symbols.Length && symbols[i] == pair.A && symbols[i + 1] == pair.B) { merged.Add(pair.A + pair.B); i++; }
                else merged.Add(symbols[i]);
            }
            result[merged.ToArray()] = count;
        }
        return result;
    }
}
