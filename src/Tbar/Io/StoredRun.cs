using System.Text.Json;

namespace Tbar.Io;

/// <summary>
/// A <see cref="RunRecord"/> read back with typed options and results: what one command hands to the next
/// (`tbar unlearn`'s report.json to `tbar analyze`, `tbar scan`'s scan.json to `tbar unlearn --forget inverted:`).
/// </summary>
public sealed record StoredRun<TOptions, TResults>(string Command, TOptions Options, long Seed, TResults Results, double Seconds)
{
    /// <summary>Reads <paramref name="path"/>; a missing file, a missing key or a wrong type is an error naming the file.</summary>
    /// <param name="path">The JSON file.</param>
    /// <param name="producer">The command that writes such files, for the error message, e.g. "tbar unlearn".</param>
    public static StoredRun<TOptions, TResults> Load(string path, string producer)
    {
        if (!File.Exists(path)) throw new TbarException($"{path}: not found (written by `{producer}`)");
        try
        {
            return JsonSerializer.Deserialize<StoredRun<TOptions, TResults>>(File.ReadAllText(path), RecordJson.Strict)
                ?? throw new TbarException($"{path}: empty record");
        }
        catch (JsonException e)
        {
            throw new TbarException($"{path}: not a `{producer}` record ({e.Message})");
        }
    }
}

/// <summary>How records are read back.</summary>
public static class RecordJson
{
    /// <summary>RunRecord's naming, plus: every constructor parameter must be present and non-nullable ones must not be null.</summary>
    public static readonly JsonSerializerOptions Strict = new(RunRecord.Json)
    {
        RespectRequiredConstructorParameters = true,
        RespectNullableAnnotations = true,
    };
}
