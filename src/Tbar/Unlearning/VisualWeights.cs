using Tbar.Models;
using static TorchSharp.torch;

namespace Tbar.Unlearning;

/// <summary>Copies of the image tower's parameters (keys as in <see cref="Clip.Parameters"/>: "visual.…"), and their restore.</summary>
public static class VisualWeights
{
    public static List<string> Keys(Clip model) => model.Visual.named_parameters().Select(p => "visual." + p.name).ToList();

    public static Dictionary<string, Tensor> Snapshot(Clip model) =>
        model.Visual.named_parameters().ToDictionary(p => "visual." + p.name, p => p.parameter.detach().clone());

    public static void Restore(Clip model, Dictionary<string, Tensor> state)
    {
        using var guard = no_grad();
        foreach (var (name, p) in model.Visual.named_parameters()) p.copy_(state["visual." + name]);
    }

    public static void Dispose(IEnumerable<Dictionary<string, Tensor>> states)
    {
        foreach (var t in states.SelectMany(s => s.Values)) t.Dispose();
    }
}
