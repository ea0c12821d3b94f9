using System.Text.Json;
using Tbar.Io;

namespace Tbar.Pipelines;

/// <summary>One self-contained job of a plan: its index, what it computes, where it writes, and the command that runs it.</summary>
/// <param name="Index">0-based cell index (a SLURM array task id, a Kubernetes completion index).</param>
/// <param name="Model">Model table name.</param>
/// <param name="Attack">Attack name.</param>
/// <param name="Seed">Seed.</param>
/// <param name="Out">The experiment's output folder (shared by all cells; each cell writes only its own sub-folder).</param>
/// <param name="CellFolder">The cell's own folder under <paramref name="Out"/>.</param>
/// <param name="Args">Arguments of <c>tbar</c> that run exactly this cell.</param>
public sealed record PlannedCell(int Index, string Model, string Attack, long Seed, string Out, string CellFolder, IReadOnlyList<string> Args);

/// <summary>A plan: every cell of an experiment as a job, and the command that merges their rows afterwards.</summary>
public sealed record CellPlan(string Experiment, IReadOnlyList<PlannedCell> Cells, IReadOnlyList<string> MergeArgs)
{
    /// <summary>The (model, seed, attack) cells of the main experiment in run order; cell K of a run is element K.</summary>
    public static IReadOnlyList<(ModelRef Model, long Seed, string Attack)> MainCells(MainOptions o) =>
        o.Models.SelectMany(m => o.Seeds.SelectMany(s => o.Attacks.Select(a => (m, s, a)))).ToList();

    /// <summary>
    /// The plan of a main experiment; <paramref name="argsFor"/> gives the tbar arguments that run cell K alone
    /// (the caller's own arguments with <c>--cell K</c>).
    /// </summary>
    public static CellPlan ForMain(MainOptions o, Func<int, IReadOnlyList<string>> argsFor)
    {
        var cells = MainCells(o).Select((c, k) => new PlannedCell(k, c.Model.Name, c.Attack, c.Seed, o.Out,
            MainExperiment.CellDir(o.Out, c.Model.Name, c.Attack, c.Seed), argsFor(k))).ToList();
        return new CellPlan("main", cells, ["report", "main", "--in", o.Out]);
    }

    /// <summary>Writes the plan as JSON (atomically).</summary>
    public void Save(string path) => AtomicFile.WriteText(path, JsonSerializer.Serialize(this, RunRecord.Json) + "\n");

    /// <summary>The options narrowed to cell <paramref name="k"/>; a clear error when k is outside the plan.</summary>
    public static MainOptions Narrow(MainOptions o, int k)
    {
        var cells = MainCells(o);
        if (k < 0 || k >= cells.Count) throw new TbarException($"--cell {k} is outside this experiment's {cells.Count} cells (0..{cells.Count - 1})");
        var (model, seed, attack) = cells[k];
        return o with { Models = [model], Seeds = [seed], Attacks = [attack] };
    }
}
