using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Tbar.Models;

/// <summary>CLIP's text normalisation, pre-tokenisation and byte-to-symbol map, shared by the tokenizer and the BPE trainer.</summary>
public static partial class ClipText
{
    public const string StartOfText = "<|startoftext|>";
    public const string EndOfText = "<|endoftext|>";
    public const string EndOfWord = "</w>";

    static readonly char[] ByteToSymbol = BuildByteMap();

    /// <summary>NFC (stand-in for ftfy), HTML-unescape twice, collapse whitespace, trim, lower-case.</summary>
    public static string Clean(string text)
    {
        string s = WebUtility.HtmlDecode(WebUtility.HtmlDecode(text.Normalize(NormalizationForm.FormC))).Trim();
        return Whitespace().Replace(s, " ").Trim().ToLowerInvariant();
    }

    /// <summary>CLIP's pre-tokens: special tokens, common contractions, letter runs, single digits, other symbol runs.</summary>
    public static IEnumerable<string> PreTokenize(string cleaned) => Pattern().Matches(cleaned).Select(m => m.Value);

    /// <summary>A pre-token's UTF-8 bytes as printable symbols (GPT-2/CLIP map: printable bytes as themselves, others at 256+n).</summary>
    public static string ByteEncode(string word)
    {
        var bytes = Encoding.UTF8.GetBytes(word);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToSymbol[bytes[i]];
        return new string(chars);
    }

    /// <summary>The 256 byte symbols in CLIP's vocabulary order (printable bytes first, then the rest).</summary>
    public static List<string> ByteSymbols()
    {
        var printable = Enumerable.Range(0, 256).Where(IsPrintable).ToList();
        var rest = Enumerable.Range(0, 256).Where(b => !IsPrintable(b));
        return printable.Concat(rest).Select(b => ByteToSymbol[b].ToString()).ToList();
    }

    static bool IsPrintable(int b) => b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;

    static char[] BuildByteMap()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++) map[b] = IsPrintable(b) ? (char)b : (char)next++;
        return map;
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+", RegexOptions.IgnoreCase)]
    private static partial Regex Pattern();
}
