using Spectre.Console;

namespace Tbar.Cli;

/// <summary>Runs library work that reports <see cref="TrainProgress"/> under a Spectre progress bar (loss and images/s).</summary>
static class ProgressBar
{
    public static T Run<T>(TextWriter stdout, string title, Func<IProgress<TrainProgress>, T> work)
    {
        T result = default!;
        Output.Console(stdout).Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(title));
                var progress = new SyncProgress(p =>
                {
                    task.MaxValue = p.TotalSteps;
                    task.Value = p.Step;
                    task.Description = Markup.Escape($"{title} loss {p.Loss:F3} {p.ImagesPerSecond:F0} img/s");
                });
                result = work(progress);
                task.Value = task.MaxValue;
            });
        return result;
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool and lag behind).</summary>
    sealed class SyncProgress(Action<TrainProgress> report) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress value) => report(value);
    }
}
