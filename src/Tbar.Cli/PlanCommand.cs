using System.CommandLine;
using System.Text.Json;
using Tbar.Io;
using Tbar.Pipelines;

namespace Tbar.Cli;

/// <summary>
/// <c>tbar plan run --plan FILE --cell K</c>: runs job K of a plan written by an experiment's --plan (what the templates call);
/// <c>tbar plan merge --plan FILE</c>: makes the experiment's table from the finished cells (the plan's merge_args).
/// </summary>
static class PlanCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var file = new Option<string>("--plan")
            { Description = "Plan JSON written by `tbar experiment main|compose|arithmetic|unlearning --plan`", Required = true };
        var cell = new Option<int>("--cell") { Description = "Cell index (e.g. $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX)", Required = true };
        var run = new Command("run", "Run one cell of a plan.") { file, cell };
        run.SetAction(r =>
        {
            var plan = Load(r.GetValue(file)!);
            int k = r.GetValue(cell);
            var job = plan.Cells.FirstOrDefault(c => c.Index == k)
                ?? throw new TbarException($"{r.GetValue(file)}: no cell {k} (the plan has {plan.Cells.Count}: 0..{plan.Cells.Count - 1})");
            stdout.WriteLine($"cell {k}: {job.Model} {job.Attack} seed {job.Seed} → {job.CellFolder}");
            return TbarCli.Run([.. job.Args], stdout, stderr);
        });
        var merge = new Command("merge", "Make the experiment's table from the finished cells of a plan (computes nothing).") { file };
        merge.SetAction(r => TbarCli.Run([.. Load(r.GetValue(file)!).MergeArgs], stdout, stderr));
        return new Command("plan", "Run the jobs of an experiment plan (one per cell) on any scheduler, then merge them.") { run, merge };
    }

    static CellPlan Load(string path)
    {
        if (!File.Exists(path)) throw new TbarException($"{path}: no such plan file");
        try
        {
            var plan = JsonSerializer.Deserialize<CellPlan>(File.ReadAllText(path), RunRecord.Json);
            if (plan?.Cells == null || plan.Cells.Any(c => c.Args == null) || plan.MergeArgs == null)
                throw new TbarException($"{path}: not a plan (no cells with args, or no merge_args)");
            return plan;
        }
        catch (JsonException e)
        {
            throw new TbarException($"{path}: not a plan file ({e.Message})");
        }
    }
}
