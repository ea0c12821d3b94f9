using Tbar.Arithmetic;
using Tbar.Models;
using static TorchSharp.torch;

namespace Tbar.Analysis;

/// <summary>An unlearn run's models and vectors: θ_pre, θ_b, τ_t and τ_c = θ_b − θ_pre − α*·τ_t over τ_t's parameters.</summary>
public sealed class RunVectors(UnlearnedRun run, Clip pretrained, Clip backdoored, TaskVector trigger) : IDisposable
{
    public UnlearnedRun Run => run;
    public Clip Pretrained => pretrained;
    public TaskVector Trigger => trigger;
    public TaskVector Clean { get; } = Difference(backdoored, pretrained, trigger, run.Alpha);

    public static RunVectors Load(string unlearnedDir, string pretrainedPath)
    {
        var run = UnlearnedRun.Read(unlearnedDir);
        var pretrained = ClipCheckpoint.Load(pretrainedPath);
        var trigger = TaskVector.Load(run.TauPath);
        try
        {
            trigger.CheckFits(pretrained);
        }
        catch (TbarException e)
        {
            pretrained.Dispose();
            trigger.Dispose();
            throw new TbarException($"{pretrainedPath}: not the model {unlearnedDir}'s backdoor was planted in ({e.Message}); " +
                "name θ_pre with --pretrained (e.g. --pretrained rn18-clip)");
        }
        return new RunVectors(run, pretrained, ClipCheckpoint.Load(run.Backdoored), trigger);
    }

    /// <summary>θ_b − θ_pre over τ_t's parameters: the whole backdoor fine-tune.</summary>
    public TaskVector WholeFineTune() => Difference(backdoored, pretrained, trigger, 0);

    static TaskVector Difference(Clip backdoored, Clip pretrained, TaskVector trigger, double alphaStar)
    {
        var b = backdoored.Parameters();
        var p = pretrained.Parameters();
        var keys = trigger.Keys.ToList();
        using var difference = TaskVector.Between(p.ToDictionary(x => x.Key, x => (Tensor)x.Value),
            b.ToDictionary(x => x.Key, x => (Tensor)x.Value), keys);
        using var scaled = trigger * alphaStar;
        return difference - scaled;
    }

    public void Dispose()
    {
        Clean.Dispose();
        trigger.Dispose();
        backdoored.Dispose();
        pretrained.Dispose();
    }
}
