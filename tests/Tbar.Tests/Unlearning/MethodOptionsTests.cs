using Tbar.Unlearning;

namespace Tbar.Tests.Unlearning;

public class MethodOptionsTests : TempFolder
{
    string Write(string json)
    {
        string path = Path.Combine(temp, "options.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void AFileOverridesOnlyTheKeysItNames()
    {
        var o = MethodOptions.Load(Write("""{ "tbar": { "rule": { "ca_floor": 0.75 } }, "consistent": { "tau": "emb-10" } }"""));
        Assert.Equal(0.75, o.Tbar.Rule.CaFloor);
        Assert.Equal("emb-10", o.Consistent.Tau);
        Assert.Equal(MethodOptions.Default.Tbar.Recipe, o.Tbar.Recipe);
        Assert.Equal(MethodOptions.Default.Baseline.Rule, o.Baseline.Rule);
        Assert.Equal(MethodOptions.Default.Consistent.Rule, o.Consistent.Rule);
    }

    [Fact]
    public void TheDefaultsRoundTripThroughTheirOwnJson()
    {
        string path = Write(MethodOptions.Default.ToJson().ToJsonString());
        var o = MethodOptions.Load(path);
        Assert.Equal(MethodOptions.Default.ToJson().ToJsonString(), o.ToJson().ToJsonString());
    }

    [Theory]
    [InlineData("""{ "tbar": { "rul": {} } }""", "unknown option 'tbar.rul'")]
    [InlineData("""{ "tbar": { "rule": { "ca_floor": "high" } } }""", "wrong type")]
    [InlineData("""[1, 2]""", "expected a JSON object")]
    [InlineData("""{ "tbar": """, "not valid JSON")]
    [InlineData("""{ "consistent": { "tau": { "lambda": 3 } } }""", "'consistent.tau' takes a value, not an object")]
    [InlineData("""{ "consistent": { "tau": "emb-7" } }""", "unknown τ estimator 'emb-7'")]
    public void BadFilesAreRefusedNamingTheFile(string json, string expected)
    {
        string path = Write(json);
        var e = Assert.Throws<TbarException>(() => MethodOptions.Load(path));
        Assert.Contains(expected, e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void TheFloorReachesEveryMethodsRule()
    {
        var o = MethodOptions.Default.WithRule(r => r with { CaFloor = 0.5 });
        Assert.All(new[] { o.Tbar.Rule, o.Consistent.Rule, o.Baseline.Rule, o.CleanClip.Baseline.Rule }, r => Assert.Equal(0.5, r.CaFloor));
    }
}
