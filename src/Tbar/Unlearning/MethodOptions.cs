using System.Text.Json;
using System.Text.Json.Nodes;
using Tbar.Evaluation;
using Tbar.Io;

namespace Tbar.Unlearning;

/// <summary>Every method's options in one record: what a JSON options file sets and what each report records as resolved.</summary>
/// <param name="Tbar">Plain TBAR (and the α rule that tbar-refit and tbar-proj share).</param>
/// <param name="Consistent">tbar-consistent: TBAR whose τ is learnt while clean embeddings are held at θ_b's.</param>
/// <param name="Refit">The repair step of tbar-refit.</param>
/// <param name="Baseline">FT and GA.</param>
/// <param name="CleanClip">The CleanCLIP-style defence.</param>
public sealed record MethodOptions(TbarOptions Tbar, TbarOptions Consistent, RefitOptions Refit, BaselineOptions Baseline, CleanClipOptions CleanClip)
{
    /// <summary>The measured defaults (README).</summary>
    public static MethodOptions Default =>
        new(TbarOptions.Default, TbarOptions.Consistent, RefitOptions.Default, BaselineOptions.Default, CleanClipOptions.Default);

    /// <summary>
    /// The defaults of the experiment tables (<c>tbar experiment main|unlearning</c>): α searched by bisection, as when their
    /// committed rows were made, so a resumed table stays one search throughout.
    /// </summary>
    public static MethodOptions Experiments => Default.WithRule(r => r with { Search = "bisect" });

    /// <summary>The same options with <paramref name="change"/> applied to every method's α/selection rule.</summary>
    public MethodOptions WithRule(Func<AlphaRule, AlphaRule> change) => this with
    {
        Tbar = Tbar with { Rule = change(Tbar.Rule) }, Consistent = Consistent with { Rule = change(Consistent.Rule) },
        Baseline = Baseline with { Rule = change(Baseline.Rule) },
        CleanClip = CleanClip with { Baseline = CleanClip.Baseline with { Rule = change(CleanClip.Baseline.Rule) } },
    };

    /// <summary>Throws naming <paramref name="source"/> when an estimator name is not one of <see cref="TauEstimators"/>.</summary>
    public void Validate(string source)
    {
        try
        {
            Tbar.Estimator();
            Consistent.Estimator();
        }
        catch (TbarException e)
        {
            throw new TbarException($"{source}: {e.Message}");
        }
    }

    /// <summary>The options as JSON (snake_case), e.g. for a report.</summary>
    public JsonNode ToJson() => JsonSerializer.SerializeToNode(this, RunRecord.Json)!;

    /// <summary>
    /// <paramref name="defaults"/> (else <see cref="Default"/>) overridden by the JSON file at <paramref name="path"/>: any subset
    /// of the keys <see cref="ToJson"/> shows; an unknown key is an error naming the file and the key.
    /// </summary>
    public static MethodOptions Load(string path, MethodOptions? defaults = null)
    {
        if (!File.Exists(path)) throw new TbarException($"{path}: options file not found");
        JsonNode? user;
        try
        {
            user = JsonNode.Parse(File.ReadAllText(path));
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            throw new TbarException($"{path}: not valid JSON ({e.Message})");
        }
        if (user is not JsonObject patch) throw new TbarException($"{path}: expected a JSON object of method options");
        var merged = (defaults ?? Default).ToJson();
        Merge(merged.AsObject(), patch, path, "");
        try
        {
            var options = merged.Deserialize<MethodOptions>(RunRecord.Json) ?? throw new TbarException($"{path}: empty options");
            options.Validate(path);
            return options;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            throw new TbarException($"{path}: a value has the wrong type ({e.Message})");
        }
    }

    static void Merge(JsonObject into, JsonObject patch, string path, string prefix)
    {
        foreach (var (key, value) in patch.ToList())
        {
            if (!into.ContainsKey(key))
                throw new TbarException($"{path}: unknown option '{prefix}{key}' (valid here: {string.Join(", ", into.Select(p => p.Key))})");
            if (into[key] is JsonObject inner && value is JsonObject innerPatch) Merge(inner, innerPatch, path, $"{prefix}{key}.");
            else if (into[key] is JsonValue && value is JsonObject or JsonArray)
                throw new TbarException($"{path}: option '{prefix}{key}' takes a value, not an object (e.g. {into[key]!.ToJsonString()})");
            else into[key] = value?.DeepClone();
        }
    }
}
