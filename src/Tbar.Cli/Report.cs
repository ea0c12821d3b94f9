using Spectre.Console;
using Tbar.Pipelines;

namespace Tbar.Cli;

/// <summary>The console table of an attack.</summary>
static class Report
{
    public static Table AttackTable(AttackOutcome o)
    {
        var table = new Table().AddColumns("trigger", "target", "poisoned", "CA", "ASR", "BD-ACC");
        table.AddRow(Markup.Escape(o.TriggerSpec), Markup.Escape(o.TargetName), $"{o.PoisonedCount}/{o.TrainCount}",
            o.Test.CleanAccuracy.ToString(), o.Test.AttackSuccess?.ToString() ?? "-", o.Test.BackdoorAccuracy?.ToString() ?? "-");
        return table;
    }
}
