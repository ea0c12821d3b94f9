using System.Text.Json;
using Tbar.Io;

namespace Tbar.Pipelines;

/// <summary>One self-contained job of a plan: its index, what it computes, where it writes, and the command that runs it.</summary>
/// <param name="Index">0-based cell index (a SLURM array task id, a Kubernetes completion index).</param>
/// <param name="Model">Model table name.</param>
/// <param name="Attack">Attack name (the trigger spec; for compose, every TRIGGER@TARGET planted together).</param>
/// <param name="Seed">Seed.</param>
/// <param name="Out">The experiment's output folder (shared by all cells; each cell writes only its own sub-folder).</param>
/// <param name="CellFolder">The cell's own folder under <paramref name="Out"/>.</param>
/// <param name="Args">Arguments of <c>tbar</c> that run exactly this cell.</param>
public sealed record PlannedCell(int Index, string Model, string Attack, long Seed, string Out, string CellFolder, IReadOnlyList<string> Args);

/// <summary>A plan: every cell of an experiment as a job, and the command that merges their results afterwards.</summary>
/// <param name="Experiment">"main", "compose", "arithmetic", "unlearning" or "detection".</param>
/// <param name="Cells">The jobs, cell K at index K.</param>
/// <param name="MergeArgs">Arguments of <c>tbar</c> that make the experiment's table from the finished cells, computing nothing.</param>
public sealed record CellPlan(string Experiment, IReadOnlyList<PlannedCell> Cells, IReadOnlyList<string> MergeArgs)
{
    /// <summary>What a cell computes and where it writes, before it has a command.</summary>
    public sealed record Key(string Model, string Attack, long Seed, string Folder);

    /// <summary>
    /// The plan of <paramref name="cells"/> (in run order); cell K runs <paramref name="args"/> (the experiment's own
    /// arguments) with <c>--cell K</c>.
    /// </summary>
    public static CellPlan Of(string experiment, string outDir, IReadOnlyList<Key> cells, IReadOnlyList<string> args,
        IReadOnlyList<string> mergeArgs) =>
        new(experiment, [.. cells.Select((c, k) => new PlannedCell(k, c.Model, c.Attack, c.Seed, outDir, c.Folder, [.. args, "--cell", $"{k}"]))],
            mergeArgs);

    /// <summary>Writes the plan as JSON (atomically).</summary>
    public void Save(string path) => AtomicFile.WriteText(path, JsonSerializer.Serialize(this, RunRecord.Json) + "\n");

    /// <summary>Element <paramref name="k"/> of an experiment's cells; a clear error when k is outside them.</summary>
    public static T Pick<T>(IReadOnlyList<T> cells, int k) => k >= 0 && k < cells.Count ? cells[k]
        : throw new TbarException($"--cell {k} is outside this experiment's {cells.Count} cells (0..{cells.Count - 1})");

    /// <summary>The table name of a model folder: its last path part ("mini-clip", "rn18-clip").</summary>
    public static string ModelName(string folder) => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)));

    /// <summary>The (model, seed, attack) cells of the main experiment in run order; cell K of a run is element K.</summary>
    public static IReadOnlyList<(ModelRef Model, long Seed, string Attack)> MainCells(MainOptions o) =>
        o.Models.SelectMany(m => o.Seeds.SelectMany(s => o.Attacks.Select(a => (m, s, a)))).ToList();

    /// <summary>The cells of a main experiment; the table is merged by <c>tbar report main</c>.</summary>
    public static CellPlan ForMain(MainOptions o, IReadOnlyList<string> args) => Of("main", o.Out,
        [.. MainCells(o).Select(c => new Key(c.Model.Name, c.Attack, c.Seed, MainExperiment.CellDir(o.Out, c.Model.Name, c.Attack, c.Seed)))],
        args, ["report", "main", "--in", o.Out]);

    /// <summary>The main experiment's options narrowed to cell <paramref name="k"/>.</summary>
    public static MainOptions Narrow(MainOptions o, int k)
    {
        var (model, seed, attack) = Pick(MainCells(o), k);
        return o with { Models = [model], Seeds = [seed], Attacks = [attack] };
    }

    /// <summary>
    /// The cells of a detection experiment (held-out clean models, then backdoored models); <paramref name="mergeArgs"/> gathers them.
    /// </summary>
    public static CellPlan ForDetection(DetectionOptions o, IReadOnlyList<string> args, IReadOnlyList<string> mergeArgs) => Of("detection", o.Out,
        [.. DetectionExperiment.Cells(o).Select(c => new Key(c.Model?.Name ?? ModelName(c.HeldOut!), c.Attack ?? "held-out clean", c.Seed,
            c.Folder(o.Out)))], args, mergeArgs);

    /// <summary>The cells (one per seed) of a compose experiment; <paramref name="mergeArgs"/> gathers them.</summary>
    public static CellPlan ForCompose(ComposeOptions o, IReadOnlyList<string> args, IReadOnlyList<string> mergeArgs)
    {
        string backdoors = string.Join(" + ", o.Backdoors.Select(b => $"{b.Trigger}@{b.Target}"));
        return Of("compose", o.Out, [.. o.Seeds.Select(s => new Key(ModelName(o.Model), backdoors, s, ComposeExperiment.CellDir(o.Out, s)))],
            args, mergeArgs);
    }

    /// <summary>The compose experiment's options narrowed to cell <paramref name="k"/> (its k-th seed).</summary>
    public static ComposeOptions Narrow(ComposeOptions o, int k) => o with { Seeds = [Pick(o.Seeds, k)] };

    /// <summary>The (trigger, seed) cells of an arithmetic experiment in run order.</summary>
    public static IReadOnlyList<(string Attack, long Seed)> ArithmeticCells(ArithmeticOptions o) =>
        [.. o.Attacks.SelectMany(a => o.Seeds.Select(s => (a, s)))];

    /// <summary>The cells of an arithmetic experiment; <paramref name="mergeArgs"/> gathers them.</summary>
    public static CellPlan ForArithmetic(ArithmeticOptions o, IReadOnlyList<string> args, IReadOnlyList<string> mergeArgs) =>
        Of("arithmetic", o.Out,
            [.. ArithmeticCells(o).Select(c => new Key(ModelName(o.Model), c.Attack, c.Seed, ArithmeticExperiment.CellDir(o.Out, c.Attack, c.Seed)))],
            args, mergeArgs);

    /// <summary>The arithmetic experiment's options narrowed to cell <paramref name="k"/>.</summary>
    public static ArithmeticOptions Narrow(ArithmeticOptions o, int k)
    {
        var (attack, seed) = Pick(ArithmeticCells(o), k);
        return o with { Attacks = [attack], Seeds = [seed] };
    }

    /// <summary>The cells (one per seed) of an unlearning experiment; the table is merged by <c>tbar report unlearning</c>.</summary>
    public static CellPlan ForUnlearning(UnlearningOptions o, IReadOnlyList<string> args) => Of("unlearning", o.Out,
        [.. o.Seeds.Select(s => new Key(ModelName(o.Demo.Model), o.Demo.Trigger, s, UnlearningExperiment.SeedDir(o.Out, s)))],
        args, ["report", "unlearning", "--in", o.Out]);

    /// <summary>The unlearning experiment's options narrowed to cell <paramref name="k"/> (its k-th seed).</summary>
    public static UnlearningOptions Narrow(UnlearningOptions o, int k) => o with { Seeds = [Pick(o.Seeds, k)] };
}
