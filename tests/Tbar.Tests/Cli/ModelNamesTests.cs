using Tbar.Cli;

namespace Tbar.Tests.Cli;

/// <summary>Embedded model names are accepted where a model path is.</summary>
public class ModelNamesTests
{
    static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = TbarCli.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void MiniClipNameResolvesToTheShippedFolder()
    {
        var (code, output, err) = Run("inspect", "--model", "mini-clip");
        Assert.True(code == 0, err);
        Assert.Contains("HuggingFace", output);
        var (codeEq, _, errEq) = Run("inspect", "--model=mini-clip");
        Assert.True(codeEq == 0, errEq);
    }

    [Fact]
    public void OtherValuesPassThroughUnchanged()
    {
        var (code, _, err) = Run("inspect", "--model", "no-such-model-folder");
        Assert.NotEqual(0, code);
        Assert.Contains("no-such-model-folder", err);
    }

    /// <summary>Names are resolved where the model is used, not by rewriting arguments: a value given to another option stays as typed.</summary>
    [Fact]
    public void AModelNameGivenToAnotherOptionIsNotRewritten()
    {
        var (code, _, err) = Run("eval", "--model", "mini-clip", "--data", "mini-clip");
        Assert.NotEqual(0, code);
        Assert.Contains("mini-clip", err);
        Assert.DoesNotContain("models/mini-clip", err);
    }

    [Fact]
    public void ResolvingAPathOrAnUnknownNameBuildsNothing()
    {
        Assert.False(Tbar.Pipelines.ModelNames.NeedsBuild("mini-clip"));
        Assert.False(Tbar.Pipelines.ModelNames.NeedsBuild("no-such-model-folder"));
        Assert.Equal("no-such-model-folder", Tbar.Pipelines.ModelNames.Resolve("no-such-model-folder"));
    }
}
