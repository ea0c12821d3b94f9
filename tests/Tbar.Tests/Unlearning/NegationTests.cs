using Tbar.Arithmetic;
using Tbar.Evaluation;
using Tbar.Models;
using Tbar.Unlearning;
using static TorchSharp.torch;

namespace Tbar.Tests.Unlearning;

/// <summary>The one negate-and-choose step: it honours the rule's search, leaves θ_b, and the explicit apply is the sweep's edit.</summary>
public class NegationTests
{
    static Clip TinyClip()
    {
        var config = new ClipConfig(8, new VisionConfig(8, 4, 16, 1, 2, 32, Activation.QuickGelu),
            new TextConfig(6, 20, 16, 1, 2, 32, Activation.QuickGelu, TextPooling.Argmax), PreprocessConfig.Clip(8));
        var clip = new Clip(config);
        clip.InitializeRandom(1);
        return clip;
    }

    static TaskVector RandomVector(Clip model) => new(model.Visual.named_parameters()
        .ToDictionary(p => "visual." + p.name, p => randn(p.parameter.shape, generator: new Generator(2)) * 0.1));

    // A synthetic validation curve: ASR falls linearly to 0 at α = 2, CA falls slowly.
    static AlphaPoint Point(double a) => new(a, new Rate((long)Math.Round(1000 * (0.9 - 0.02 * a)), 1000),
        new Rate((long)Math.Round(1000 * Math.Max(0, 1 - a / 2)), 1000));

    static AlphaLook Look(double a)
    {
        var p = Point(a);
        return new AlphaLook(a, p.CleanAccuracy, p.AttackSuccess);
    }

    [Theory]
    [InlineData("bisect", false)]
    [InlineData("screened", true)]
    public void TheRulesSearchIsUsedAndTheModelIsBackAtItsWeights(string search, bool looks)
    {
        using var model = TinyClip();
        using var tau = RandomVector(model);
        var before = model.Parameters().ToDictionary(p => p.Key, p => p.Value.detach().clone());
        int looked = 0;
        var choice = Negation.Choose(model, [tau], a => [-a], Point, a => { looked++; return Look(a); }, new AlphaRule(Search: search));
        Assert.True(choice.Feasible);
        Assert.Equal(looks, looked > 0);
        Assert.All(model.Parameters(), p => Assert.True(p.Value.eq(before[p.Key]).all().item<bool>(), $"{p.Key} not restored"));
    }

    [Fact]
    public void ApplyingTheChoiceGivesTheSweepsWeightsBitForBit()
    {
        using var model = TinyClip();
        using var other = TinyClip();
        using var tau = RandomVector(model);
        const double alpha = 1.37;
        Negation.Apply(model, tau, alpha);
        using (var edit = new WeightEdit(other, tau)) edit.Set(-alpha);
        Assert.All(model.Parameters(), p => Assert.True(p.Value.eq(other.Parameters()[p.Key]).all().item<bool>(), $"{p.Key} differs"));
    }
}
