using System.Text.Json;
using Microsoft.ML.Tokenizers;
using static TorchSharp.torch;

namespace Tbar.Models;

/// <summary>
/// CLIP's byte-level BPE tokenizer from vocab.json + merges.txt: <see cref="ClipText"/> cleans and pre-tokenises, each
/// pre-token's bytes become symbols, and Microsoft.ML.Tokenizers' BPE merges them with the "&lt;/w&gt;" end-of-word suffix.
/// </summary>
public sealed class ClipTokenizer
{
    readonly BpeTokenizer bpe;
    readonly Dictionary<string, int[]> cache = new(StringComparer.Ordinal);

    /// <summary>Id of "&lt;|startoftext|&gt;".</summary>
    public int StartToken { get; }
    /// <summary>Id of "&lt;|endoftext|&gt;".</summary>
    public int EndToken { get; }
    /// <summary>Number of tokens in vocab.json.</summary>
    public int VocabSize { get; }

    ClipTokenizer(BpeTokenizer bpe, int start, int end, int vocabSize)
    {
        this.bpe = bpe;
        StartToken = start;
        EndToken = end;
        VocabSize = vocabSize;
    }

    /// <summary>Loads vocab.json and merges.txt; a missing or malformed file is an error naming it.</summary>
    public static ClipTokenizer FromFiles(string vocabJsonPath, string mergesTxtPath)
    {
        var vocab = ReadVocab(vocabJsonPath);
        if (!File.Exists(mergesTxtPath)) throw new TbarException($"{mergesTxtPath}: file not found");
        int start = SpecialId(vocab, ClipText.StartOfText, vocabJsonPath), end = SpecialId(vocab, ClipText.EndOfText, vocabJsonPath);
        try
        {
            var bpe = BpeTokenizer.Create(vocabJsonPath, mergesTxtPath, preTokenizer: new WholeText(), normalizer: null, specialTokens: null,
                unknownToken: null, continuingSubwordPrefix: null, endOfWordSuffix: ClipText.EndOfWord, fuseUnknownTokens: false);
            return new ClipTokenizer(bpe, start, end, vocab.Count);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or JsonException)
        {
            // The two files disagree, or either is malformed: name both.
            throw new TbarException($"{vocabJsonPath} and {mergesTxtPath}: cannot build the BPE model ({e.Message})", e);
        }
    }

    /// <summary>Loads DIR/vocab.json and DIR/merges.txt.</summary>
    public static ClipTokenizer FromFolder(string dir)
    {
        string vocab = Path.Combine(dir, "vocab.json"), merges = Path.Combine(dir, "merges.txt");
        if (!File.Exists(vocab) || !File.Exists(merges))
            throw new TbarException($"no tokenizer in {dir}: expected vocab.json and merges.txt (an open_clip folder has none: pass --tokenizer DIR)");
        return FromFiles(vocab, merges);
    }

    /// <summary>BPE ids of <paramref name="text"/>, without start and end tokens.</summary>
    public IReadOnlyList<int> Encode(string text)
    {
        var ids = new List<int>();
        foreach (var word in ClipText.PreTokenize(ClipText.Clean(text))) ids.AddRange(EncodeWord(word));
        return ids;
    }

    int[] EncodeWord(string word)
    {
        lock (cache)
        {
            if (cache.TryGetValue(word, out var hit)) return hit;
            var ids = word == ClipText.StartOfText ? [StartToken] : word == ClipText.EndOfText ? [EndToken]
                : bpe.EncodeToIds(ClipText.ByteEncode(word)).ToArray();
            cache[word] = ids;
            return ids;
        }
    }

    /// <summary>[start] + ids + [end] per text, cut to <paramref name="contextLength"/> keeping the end token last, padded with 0.</summary>
    public long[][] Tokenize(IReadOnlyList<string> texts, int contextLength = 77)
    {
        if (contextLength < 2) throw new TbarException($"context length {contextLength} leaves no room for start and end tokens");
        return texts.Select(t => Row(t, contextLength)).ToArray();
    }

    long[] Row(string text, int contextLength)
    {
        var row = new long[contextLength];
        var ids = Encode(text);
        int body = Math.Min(ids.Count, contextLength - 2);
        row[0] = StartToken;
        for (int i = 0; i < body; i++) row[i + 1] = ids[i];
        row[body + 1] = EndToken;
        return row;
    }

    /// <summary><see cref="Tokenize"/> as an int64 (N, contextLength) tensor.</summary>
    public Tensor TokenizeTensor(IReadOnlyList<string> texts, int contextLength = 77) =>
        tensor(Tokenize(texts, contextLength).SelectMany(r => r).ToArray(), texts.Count, contextLength);

    static Dictionary<string, int> ReadVocab(string path)
    {
        if (!File.Exists(path)) throw new TbarException($"{path}: file not found");
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(path))
                ?? throw new TbarException($"{path}: expected a JSON object of token → id");
        }
        catch (JsonException e)
        {
            throw new TbarException($"{path}: not a JSON object of token → id ({e.Message})", e);
        }
    }

    /// <summary>Hands the whole input to BPE as one word: <see cref="ClipText"/> has already split it (a null pre-tokenizer would split again).</summary>
    sealed class WholeText : PreTokenizer
    {
        public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => [(0, text.Length)];
        public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => [(0, text.Length)];
    }

    static int SpecialId(Dictionary<string, int> vocab, string token, string path) =>
        vocab.TryGetValue(token, out int id) ? id : throw new TbarException($"{path}: has no '{token}' token");
}
