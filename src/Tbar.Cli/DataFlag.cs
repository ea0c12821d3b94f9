using System.CommandLine;
using Tbar.Unlearning;

namespace Tbar.Cli;

/// <summary>
/// The data spec flag, <c>--data</c> in every command; a command's older name for it (<c>--val</c>, <c>--clean</c>) still
/// works as a hidden option, and giving both is an error.
/// </summary>
sealed class DataFlag
{
    readonly Option<string> data;
    readonly Option<string?>[] older;

    public DataFlag(string description, params string[] olderNames)
    {
        data = new Option<string>("--data") { Description = description, DefaultValueFactory = _ => Defaults.Data };
        older = [.. olderNames.Select(n => new Option<string?>(n) { Description = "Old name of --data", Hidden = true })];
    }

    /// <summary>The options to add to the command.</summary>
    public IEnumerable<Option> Options => [data, .. older];

    /// <summary>The spec given under either name, or the default.</summary>
    public string Value(ParseResult r)
    {
        var given = older.Where(o => r.GetResult(o) != null).Select(o => o.Name).ToList();
        if (r.GetResult(data) is { Implicit: false }) given.Insert(0, data.Name);
        if (given.Count > 1) throw new TbarException($"{string.Join(" and ", given)} both name the data spec: give --data once");
        return older.Select(o => r.GetValue(o)).FirstOrDefault(v => v != null) ?? r.GetValue(data)!;
    }
}
