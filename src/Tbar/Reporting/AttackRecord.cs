using Tbar.Evaluation;
using Tbar.Pipelines;
using Tbar.Training;

namespace Tbar.Reporting;

/// <summary>The results part of attack.json: what was planted, how much was poisoned, the test metrics and the training run.</summary>
public sealed record AttackRecord(string Trigger, int Target, string TargetName, int Poisoned, int TrainSize, MetricsRecord Test,
    TrainResult Training)
{
    public static AttackRecord From(AttackOutcome o) =>
        new(o.TriggerSpec, o.Target, o.TargetName, o.PoisonedCount, o.TrainCount, MetricsRecord.From(o.Test), o.Training);
}
