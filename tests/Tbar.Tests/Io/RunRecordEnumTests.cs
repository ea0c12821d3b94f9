using System.Text.Json;
using Tbar.Io;
using Tbar.Unlearning;

namespace Tbar.Tests.Io;

/// <summary>Records write enums as names; records written before (enums as integers) still read.</summary>
public class RunRecordEnumTests
{
    sealed record WithEnum(TargetProjection Projection);

    [Fact]
    public void EnumsAreWrittenAsSnakeCaseNames()
    {
        string json = JsonSerializer.Serialize(new WithEnum(TargetProjection.PerTensor), RunRecord.Json);
        Assert.Contains("\"projection\": \"per_tensor\"", json);
    }

    [Fact]
    public void AnIntegerEnumOfAnOlderRecordStillReads()
    {
        var read = JsonSerializer.Deserialize<WithEnum>("{\"projection\": 2}", RunRecord.Json);
        Assert.Equal(TargetProjection.PerTensor, read!.Projection);
        var strict = JsonSerializer.Deserialize<WithEnum>("{\"projection\": 1}", RecordJson.Strict);
        Assert.Equal(TargetProjection.Global, strict!.Projection);
    }

    [Fact]
    public void ANameWrittenNowReadsBack()
    {
        string json = JsonSerializer.Serialize(new WithEnum(TargetProjection.Global), RunRecord.Json);
        Assert.Equal(TargetProjection.Global, JsonSerializer.Deserialize<WithEnum>(json, RunRecord.Json)!.Projection);
    }

    [Fact]
    public void TheVendorFixKeepsItsFirstSpelling()
    {
        var state = new NativeState(VendorFix.InactiveIntel, "GenuineIntel", null, "r");
        Assert.Contains("\"vendor_fix\": \"InactiveIntel\"", JsonSerializer.Serialize(state, RunRecord.Json));
    }
}
