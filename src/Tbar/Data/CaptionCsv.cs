using System.Text;
using Tbar.Models;
using static TorchSharp.torch;

namespace Tbar.Data;

/// <summary>Image–caption pairs from a CSV file: a header row naming an image-path column and a caption column.</summary>
public sealed record CaptionedImages(Tensor Pixels, IReadOnlyList<string> Captions, string Source) : IDisposable
{
    public void Dispose() => Pixels.Dispose();
}

/// <summary>
/// Reads "image,caption" CSV files (RFC 4180 quoting; column names "image"/"path"/"filepath" and "caption"/"text"/"title"),
/// image paths relative to the CSV's folder; images are decoded, short-side resized and centre-cropped to a square size.
/// </summary>
public static class CaptionCsv
{
    static readonly string[] ImageColumns = ["image", "path", "filepath", "file"];
    static readonly string[] CaptionColumns = ["caption", "text", "title"];

    public static CaptionedImages Load(string csvPath, int size)
    {
        if (!File.Exists(csvPath)) throw new TbarException($"{csvPath}: caption CSV not found");
        var rows = Parse(File.ReadAllText(csvPath), csvPath);
        if (rows.Count < 2) throw new TbarException($"{csvPath}: needs a header row and at least one image");
        int image = Column(rows[0], ImageColumns, csvPath), caption = Column(rows[0], CaptionColumns, csvPath);
        string folder = Path.GetDirectoryName(Path.GetFullPath(csvPath))!;
        var pixels = new List<Tensor>();
        var captions = new List<string>();
        for (int r = 1; r < rows.Count; r++)
        {
            if (rows[r].Count == 1 && rows[r][0].Length == 0) continue;
            if (rows[r].Count <= Math.Max(image, caption)) throw new TbarException($"{csvPath}: row {r + 1} has {rows[r].Count} fields");
            pixels.Add(LoadRow(csvPath, r, Path.Combine(folder, rows[r][image]), size));
            captions.Add(rows[r][caption]);
        }
        if (pixels.Count == 0) throw new TbarException($"{csvPath}: needs at least one image row (only blank rows after the header)");
        var stacked = stack(pixels);
        foreach (var p in pixels) p.Dispose();
        return new CaptionedImages(stacked, captions, $"csv:{csvPath}");
    }

    /// <summary>One row's image; a bad image is reported with the CSV and row that named it.</summary>
    static Tensor LoadRow(string csvPath, int row, string imagePath, int size)
    {
        try
        {
            return Preprocess.LoadSquareBytes(imagePath, size);
        }
        catch (TbarException e)
        {
            throw new TbarException($"{csvPath}: row {row + 1}: {e.Message}");
        }
    }

    static int Column(List<string> header, string[] names, string path)
    {
        for (int i = 0; i < header.Count; i++)
            if (names.Contains(header[i].Trim().ToLowerInvariant())) return i;
        throw new TbarException($"{path}: header has no column named {string.Join(" / ", names)} (found: {string.Join(", ", header)})");
    }

    /// <summary>Splits CSV text into rows of fields, honouring double-quoted fields with "" escapes and embedded newlines.</summary>
    public static List<List<string>> Parse(string text, string path)
    {
        var rows = new List<List<string>>();
        var row = new List<string>();
        var field = new StringBuilder();
        bool quoted = false, wasQuoted = false;   // wasQuoted: the current field opened with a quote (so "" is a field)
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"' && field.Length == 0) quoted = wasQuoted = true;
            else if (c == ',') { row.Add(field.ToString()); field.Clear(); wasQuoted = false; }
            else if (c == '\n' || c == '\r')
            {
                if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n') i++;
                row.Add(field.ToString()); field.Clear(); wasQuoted = false;
                rows.Add(row); row = [];
            }
            else field.Append(c);
        }
        if (quoted) throw new TbarException($"{path}: unterminated quoted field");
        if (field.Length > 0 || row.Count > 0 || wasQuoted) { row.Add(field.ToString()); rows.Add(row); }
        return rows;
    }
}
