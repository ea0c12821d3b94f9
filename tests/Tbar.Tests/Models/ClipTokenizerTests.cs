using System.Text.Json;
using Tbar.Models;

namespace Tbar.Tests.Models;

public class ClipTokenizerTests : TempFolder
{
    static ClipTokenizer Reference() => ClipTokenizer.FromFolder(Path.Combine(Fixtures.Dir("clip-tiny-gelu"), "hf"));

    [FixtureFact]
    public void TruncationKeepsTheEndTokenLast()
    {
        var tok = Reference();
        var row = tok.Tokenize([string.Join(" ", Enumerable.Repeat("dog", 200))], 16)[0];
        Assert.Equal(16, row.Length);
        Assert.Equal(tok.StartToken, row[0]);
        Assert.Equal(tok.EndToken, row[15]);
        Assert.DoesNotContain(0L, row);
    }

    [FixtureFact]
    public void EmptyTextIsStartEndThenPadding()
    {
        var tok = Reference();
        Assert.Equal([tok.StartToken, tok.EndToken, 0, 0, 0, 0], tok.Tokenize([""], 6)[0]);
    }

    [FixtureFact]
    public void CleaningMakesCaseWhitespaceAndEntitiesIrrelevant()
    {
        var tok = Reference();
        Assert.Equal(tok.Encode("a dog & a cat"), tok.Encode("  A   DOG &amp; a\tCat "));
        Assert.Equal(tok.Encode("it's"), tok.Encode("IT'S"));
    }

    [Fact]
    public void MergesApplyInRankOrder()
    {
        // Symbols: l, o, w</w>; merges "l o" then "lo w</w>": "low" must become the single token "low</w>".
        var vocab = new Dictionary<string, int>
        {
            ["l"] = 0, ["o"] = 1, ["w</w>"] = 2, ["lo"] = 3, ["low</w>"] = 4, ["o</w>"] = 5,
            ["<|startoftext|>"] = 6, ["<|endoftext|>"] = 7,
        };
        File.WriteAllText(Path.Combine(temp, "vocab.json"), JsonSerializer.Serialize(vocab));
        File.WriteAllText(Path.Combine(temp, "merges.txt"), "#version: 0.2\nl o\nlo w</w>\n");
        var tok = ClipTokenizer.FromFolder(temp);
        Assert.Equal([4], tok.Encode("low"));
        Assert.Equal([3, 5], tok.Encode("loo"));
        Assert.Equal([6, 4, 4, 7], tok.Tokenize(["low LOW"], 4)[0].Select(x => (int)x).ToArray());
    }

    [Fact]
    public void MissingFilesNameTheFolder()
    {
        var e = Assert.Throws<TbarException>(() => ClipTokenizer.FromFolder(temp));
        Assert.Contains(temp, e.Message);
        Assert.Contains("--tokenizer", e.Message);
        File.WriteAllText(Path.Combine(temp, "vocab.json"), "[1,2]");
        File.WriteAllText(Path.Combine(temp, "merges.txt"), "#version: 0.2\n");
        var bad = Assert.Throws<TbarException>(() => ClipTokenizer.FromFolder(temp));
        Assert.Contains("vocab.json", bad.Message);
    }

    [Fact]
    public void LearnedVocabularyRoundTripsThroughTheTokenizer()
    {
        string[] corpus = ["a photo of a boot.", "a photo of a coat.", "a photo of a boot!", "boots and coats"];
        var (vocab, merges) = BpeTrainer.Learn(corpus, maxMerges: 100);
        BpeTrainer.Write(temp, vocab, merges);
        var tok = ClipTokenizer.FromFolder(temp);
        Assert.Equal(vocab.Count - 1, tok.EndToken);
        Assert.Equal(vocab.Count - 2, tok.StartToken);
        // Frequent words end up as one token; every id decodes back to the word's symbols.
        Assert.Single(tok.Encode("photo"));
        Assert.Equal("photo</w>", vocab[tok.Encode("photo")[0]]);
        Assert.Equal("unseen</w>", string.Concat(tok.Encode("unseen").Select(i => vocab[i])));
    }
}
