using Tbar.Data;
using System.Diagnostics;

namespace Tbar.Tests.Cli;

/// <summary>deploy/slurm/local-cluster.sh: a real single-node SLURM cluster runs a 2-cell plan, one cell re-queued mid-run.</summary>
public class LocalClusterTests
{
    // About 2 minutes on 2 cores (more when slurm-wlm must be installed): the 2-cell plan of PlanTests, once in one
    // process and once as a SLURM array whose cell 0 is killed and re-queued after its first row.
    [LocalClusterFact, Trait("Category", "Slow")]
    public void APlanRunByARealSlurmMergesIntoTheOneProcessTableAndAReQueuedCellResumes()
    {
        string work = Directory.CreateTempSubdirectory("tbar-slurm-").FullName;
        try
        {
            var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
            info.ArgumentList.Add(Path.Combine(Fixtures.RepoRoot, "deploy", "slurm", "local-cluster.sh"));
            info.Environment["WORK"] = work;
            info.Environment["TBAR"] = $"dotnet {Path.Combine(AppContext.BaseDirectory, "Tbar.Cli.dll")}";
            using var p = Process.Start(info)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            string stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            string log = stdout.Result + stderr;
            Assert.True(p.ExitCode == 0, log);
            Assert.Contains("the merged table equals the one-process table byte for byte", log);
            Assert.Contains("the re-queued cell kept its finished row", log);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}

/// <summary>Skipped unless the script can run: root (it starts slurmd as root), SLURM or apt-get, and Fashion-MNIST.</summary>
public sealed class LocalClusterFactAttribute : FactAttribute
{
    public LocalClusterFactAttribute()
    {
        static bool OnPath(string name) => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Any(dir => File.Exists(Path.Combine(dir, name)));
        if (Environment.UserName != "root")
            Skip = "deploy/slurm/local-cluster.sh needs root (it installs slurm-wlm and munge and runs slurmd as root)";
        else if (!OnPath("slurmctld") && !OnPath("apt-get"))
            Skip = "neither SLURM (slurmctld) nor apt-get to install it from Debian";
        else if (!File.Exists(Path.Combine(FashionMnist.DefaultFolder, "train-images-idx3-ubyte.gz")))
            Skip = $"Fashion-MNIST not found in {FashionMnist.DefaultFolder}: apt-get install dataset-fashion-mnist";
    }
}
