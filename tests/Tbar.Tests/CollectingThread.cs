namespace Tbar.Tests;

/// <summary>
/// Runs a call many times while another thread forces collections without pause: a Scalar left to its finaliser is freed
/// during the native call that reads it, and libtorch stops with "Expected false to be true" (docs/checkpoints.md, "Native
/// runtime note").
/// </summary>
static class CollectingThread
{
    /// <summary>Calls <paramref name="call"/> <paramref name="calls"/> times beside the collector; the failures and the first message.</summary>
    public static (int Failures, string First) Run(int calls, Action call)
    {
        int failures = 0;
        string first = "";
        var stop = false;
        var collector = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        });
        collector.Start();
        try
        {
            for (int i = 0; i < calls; i++)
            {
                try { call(); }
                catch (Exception e) { failures++; first = first == "" ? e.Message.Split('\n')[0] : first; }
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            collector.Join();
        }
        return (failures, first);
    }
}
