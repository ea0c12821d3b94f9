namespace Tbar.Attacks;

/// <summary>The trigger registry: the names users type → constructors from a parsed spec.</summary>
public static class Triggers
{
    static readonly Dictionary<string, Func<TriggerSpec, ITrigger>> Registry = new(StringComparer.Ordinal)
    {
        ["badnet"] = s => new BadNet(s),
        ["blended"] = s => new Blended(s),
        ["wanet"] = s => new WaNet(s),
        ["sig"] = s => new Sig(s),
    };

    /// <summary>Builds the trigger a spec names; an unknown name lists the valid ones.</summary>
    public static ITrigger Parse(string spec)
    {
        var parsed = TriggerSpec.Parse(spec);
        if (!Registry.TryGetValue(parsed.Name, out var make))
            throw new TbarException($"trigger spec '{spec}': unknown trigger '{parsed.Name}' (valid: {string.Join(", ", Registry.Keys)}, badclip)");
        return make(parsed);
    }

    /// <summary>Throws when a patch of <paramref name="size"/> does not fit an H×W image.</summary>
    public static void RequireFits(string trigger, long size, long h, long w)
    {
        if (size > h || size > w) throw new TbarException($"trigger '{trigger}': a {size}×{size} patch is larger than the {h}×{w} image");
    }
}
