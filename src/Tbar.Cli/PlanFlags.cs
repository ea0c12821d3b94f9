using System.CommandLine;
using System.CommandLine.Parsing;
using Tbar.Pipelines;

namespace Tbar.Cli;

/// <summary>
/// <c>--plan FILE</c> and <c>--cell K</c> of the experiments that split into cells: writing the plan (one job per cell, computing
/// nothing) and the arguments its jobs repeat.
/// </summary>
static class PlanFlags
{
    public static (Option<string?> Plan, Option<int?> Cell) Create() =>
        (new Option<string?>("--plan") { Description = "Write one self-contained job per cell to this JSON file; compute nothing" },
         new Option<int?>("--cell") { Description = "Run only cell K of the plan (0-based); merge afterwards (see the plan's merge_args)" });

    /// <summary>
    /// The caller's own arguments, command path first, minus <c>--plan FILE</c> and <c>--cell K</c>, plus <paramref name="extra"/>:
    /// each job (with <c>--cell K</c>) and a merge (with <c>--collect</c>) repeat the experiment's settings exactly.
    /// </summary>
    public static List<string> OwnArgs(ParseResult r, params string[] extra)
    {
        var path = new List<string>();
        for (var c = r.CommandResult; c.Parent is CommandResult parent; c = parent) path.Insert(0, c.Command.Name);
        var tokens = r.Tokens.Where(t => t.Type != TokenType.Command).Select(t => t.Value).ToList();
        for (int i = 0; i < tokens.Count; i++)
            if (tokens[i] is "--plan" or "--cell") i++;
            else path.Add(tokens[i]);
        return [.. path, .. extra];
    }

    /// <summary>Saves <paramref name="plan"/> to <paramref name="path"/> and says how to run and merge it.</summary>
    public static int Write(CellPlan plan, string path, TextWriter stdout)
    {
        plan.Save(path);
        stdout.WriteLine($"wrote {plan.Cells.Count} cells to {path}; run each with `tbar <args>` (templates in deploy/), then " +
            $"`tbar {string.Join(' ', plan.MergeArgs)}`");
        return 0;
    }

    /// <summary>What a finished cell says: how to merge it with the others.</summary>
    public static int Done(int k, IEnumerable<string> mergeArgs, TextWriter stdout)
    {
        stdout.WriteLine($"cell {k} done; merge with: tbar {string.Join(' ', mergeArgs)}");
        return 0;
    }
}
