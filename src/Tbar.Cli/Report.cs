using Spectre.Console;
using Tbar.Evaluation;
using Tbar.Pipelines;

namespace Tbar.Cli;

/// <summary>Tables and JSON shapes of attack and evaluation results.</summary>
static class Report
{
    public static object Metrics(AttackMetrics m) => new
    {
        ca = m.CleanAccuracy.Value, ca_correct = m.CleanAccuracy.Hits, ca_total = m.CleanAccuracy.Total,
        asr = m.AttackSuccess?.Value, asr_hits = m.AttackSuccess?.Hits, asr_total = m.AttackSuccess?.Total,
        bd_acc = m.BackdoorAccuracy?.Value, bd_acc_hits = m.BackdoorAccuracy?.Hits,
    };

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
