using Tbar.Data;
using Tbar.Pipelines;

namespace Tbar.Tests.Unlearning;

/// <summary>End to end on the shipped mini-CLIP: a small BadNet backdoor, then TBAR, whose test ASR must fall below a bound.</summary>
public class TbarRegressionTests : TempFolder
{
    internal static string MiniClip()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Tbar.sln"))) return Path.Combine(dir.FullName, "models", "mini-clip");
        throw new InvalidOperationException("repository root not found");
    }

    static DemoOptions Small(string data) => new(MiniClip(), Data: data, Methods: ["tbar-floor75"], ForgetSize: 500, ValSize: 500,
        CleanReference: false, AttackEpochs: 2, TrainLimit: 6000, PoisonRate: 0.1);

    // ≈ 2 min on 2 cores: two backdoor trainings and two TBAR runs.
    [DataFact, Trait("Category", "Slow")]
    public void TbarRemovesASmallBackdoorAndItsAlphaNeverSeesTheTestSplit()
    {
        var first = DemoPipeline.Run(Small("fashion-mnist"));
        Assert.True(first.Backdoored.Test.AttackSuccess!.Value > 0.8, $"attack too weak: ASR {first.Backdoored.Test.AttackSuccess}");
        var tbar = first.Methods.Single();
        Assert.True(tbar.Test.AttackSuccess!.Value < 0.1, $"TBAR left test ASR at {tbar.Test.AttackSuccess}");
        Assert.True(tbar.Test.CleanAccuracy.Value > 0.8 * first.Backdoored.Test.CleanAccuracy.Value, $"TBAR CA {tbar.Test.CleanAccuracy}");

        // Same run with the test split's labels scrambled: anything chosen on validation must come out identical.
        var second = DemoPipeline.Run(Small("fashion-mnist:" + ScrambledTestLabels()));
        Assert.Equal(first.Records["tbar-floor75"].Alpha!.Alpha, second.Records["tbar-floor75"].Alpha!.Alpha);
        Assert.Equal(first.Records["tbar-floor75"].Alpha!.Curve.Select(p => p.CleanAccuracy.Hits), second.Records["tbar-floor75"].Alpha!.Curve.Select(p => p.CleanAccuracy.Hits));
        Assert.NotEqual(first.Methods[0].Test.CleanAccuracy.Hits, second.Methods[0].Test.CleanAccuracy.Hits);
    }

    string ScrambledTestLabels()
    {
        foreach (var name in new[] { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz" })
            File.CreateSymbolicLink(Path.Combine(temp, name), Path.Combine(FashionMnist.DefaultFolder, name));
        var (dims, labels) = Idx.Read(Path.Combine(FashionMnist.DefaultFolder, "t10k-labels-idx1-ubyte.gz"));
        var scrambled = labels.Select((l, i) => (byte)((l + 1 + i % 9) % 10)).ToArray();
        byte[] header = [0, 0, 8, 1, .. BitConverter.GetBytes(dims[0]).Reverse()];
        File.WriteAllBytes(Path.Combine(temp, "t10k-labels-idx1-ubyte"), [.. header, .. scrambled]);
        return temp;
    }
}

/// <summary>A fact skipped, with the reason, when Fashion-MNIST is not installed.</summary>
public sealed class DataFactAttribute : FactAttribute
{
    public DataFactAttribute()
    {
        if (!File.Exists(Path.Combine(FashionMnist.DefaultFolder, "train-images-idx3-ubyte.gz")))
            Skip = $"Fashion-MNIST not found in {FashionMnist.DefaultFolder}: apt-get install dataset-fashion-mnist (test.sh does this)";
    }
}
