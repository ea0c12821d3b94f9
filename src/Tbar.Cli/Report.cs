using Spectre.Console;
using Tbar.Evaluation;
using Tbar.Pipelines;

namespace Tbar.Cli;

/// <summary>Tables and JSON shapes of attack and evaluation results.</summary>
static class Report
{
    public static MetricsRecord Metrics(AttackMetrics m) => MetricsRecord.From(m);

    public static object Attack(AttackOutcome o) => new
    {
        trigger = o.TriggerSpec, target = o.Target, target_name = o.TargetName, poisoned = o.PoisonedCount, train_size = o.TrainCount,
        test = Metrics(o.Test), training = o.Training,
    };

    public static Table AttackTable(AttackOutcome o)
    {
        var table = new Table().AddColumns("trigger", "target", "poisoned", "CA", "ASR", "BD-ACC");
        table.AddRow(Markup.Escape(o.TriggerSpec), Markup.Escape(o.TargetName), $"{o.PoisonedCount}/{o.TrainCount}",
            o.Test.CleanAccuracy.ToString(), o.Test.AttackSuccess?.ToString() ?? "-", o.Test.BackdoorAccuracy?.ToString() ?? "-");
        return table;
    }
}
