using System.Globalization;

namespace Tbar.Attacks;

/// <summary>
/// A parsed one-line trigger spec, "name:key=value,key=value". Values are kept as text; typed getters report bad values
/// naming the key. <see cref="Format"/> writes the canonical text (keys in the order the trigger lists them).
/// </summary>
public sealed class TriggerSpec
{
    readonly Dictionary<string, string> values;
    readonly HashSet<string> used = new(StringComparer.Ordinal);

    /// <summary>Trigger name as typed, lower-case ("badnet").</summary>
    public string Name { get; }

    /// <summary>The spec as the user typed it, quoted by every error so that the message names what to fix.</summary>
    public string Source { get; }

    TriggerSpec(string name, Dictionary<string, string> values, string source)
    {
        Name = name;
        this.values = values;
        Source = source;
    }

    /// <summary>Parses "name" or "name:k=v,k=v"; a malformed spec is an error quoting it.</summary>
    public static TriggerSpec Parse(string spec)
    {
        string text = spec.Trim();
        int colon = text.IndexOf(':');
        string name = (colon < 0 ? text : text[..colon]).Trim().ToLowerInvariant();
        if (name.Length == 0) throw new TbarException($"trigger spec '{spec}' has no name");
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (colon >= 0 && colon < text.Length - 1)
            foreach (var part in text[(colon + 1)..].Split(','))
            {
                int eq = part.IndexOf('=');
                if (eq <= 0) throw new TbarException($"trigger spec '{spec}': '{part}' is not key=value");
                string key = part[..eq].Trim().ToLowerInvariant();
                if (!values.TryAdd(key, part[(eq + 1)..].Trim())) throw new TbarException($"trigger spec '{spec}': '{key}' given twice");
            }
        return new TriggerSpec(name, values, spec);
    }

    /// <summary>A text value, or the default.</summary>
    public string Text(string key, string fallback)
    {
        used.Add(key);
        return values.GetValueOrDefault(key, fallback);
    }

    /// <summary>An integer value within [min, max], or the default.</summary>
    public int Int(string key, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        string raw = Text(key, fallback.ToString(CultureInfo.InvariantCulture));
        if (!int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min || v > max)
            throw new TbarException($"trigger spec '{Source}': {key}={raw} must be an integer in [{min}, {max}]");
        return v;
    }

    /// <summary>A number within [min, max], or the default.</summary>
    public double Number(string key, double fallback, double min = double.MinValue, double max = double.MaxValue)
    {
        string raw = Text(key, fallback.ToString("R", CultureInfo.InvariantCulture));
        if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !(v >= min && v <= max))
            throw new TbarException($"trigger spec '{Source}': {key}={raw} must be a number in [{min}, {max}]");
        return v;
    }

    /// <summary>One of <paramref name="allowed"/>, or the default.</summary>
    public string Choice(string key, string fallback, params string[] allowed)
    {
        string v = Text(key, fallback).ToLowerInvariant();
        if (!allowed.Contains(v)) throw new TbarException($"trigger spec '{Source}': {key}={v} is not one of {string.Join(", ", allowed)}");
        return v;
    }

    /// <summary>Throws if the spec holds keys the trigger did not read (a typo must not pass silently).</summary>
    public void RejectUnknown()
    {
        var unknown = values.Keys.Where(k => !used.Contains(k)).ToList();
        if (unknown.Count > 0)
            throw new TbarException($"trigger spec '{Source}': unknown option(s) {string.Join(", ", unknown)} (valid: {string.Join(", ", used)})");
    }

    /// <summary>Canonical text: "name:k=v,..." in the given key order.</summary>
    public static string Format(string name, params (string Key, object Value)[] pairs) =>
        name + ":" + string.Join(",", pairs.Select(p => $"{p.Key}={Convert.ToString(p.Value, CultureInfo.InvariantCulture)}"));
}
