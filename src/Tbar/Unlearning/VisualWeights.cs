using Tbar.Io;
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

    /// <summary>Puts weights written with <see cref="SpilledTensors.Write"/> of <see cref="Live"/> back, one key at a time.</summary>
    public static void Restore(Clip model, SpilledTensors saved)
    {
        using var guard = no_grad();
        foreach (var (name, p) in model.Visual.named_parameters())
        {
            using var value = saved.Read("visual." + name);
            p.copy_(value);
        }
    }

    /// <summary>The image tower's parameters themselves (not copies), by key.</summary>
    public static Dictionary<string, Tensor> Live(Clip model) =>
        model.Visual.named_parameters().ToDictionary(p => "visual." + p.name, p => (Tensor)p.parameter);

    /// <summary>
    /// Puts <paramref name="state"/> back and returns the change θ − state per key (float32; the same values as
    /// <see cref="Arithmetic.TaskVector.Between"/>), one key at a time: no second copy of the tower is made. The snapshot's
    /// tensors are disposed and the dictionary emptied.
    /// </summary>
    public static Dictionary<string, Tensor> RestoreTakingChange(Clip model, Dictionary<string, Tensor> state) =>
        RestoreTakingChange(model, key =>
        {
            var saved = state[key];
            state.Remove(key);
            return saved;
        });

    /// <summary>
    /// As above with the saved weights read from a file (<see cref="SpilledTensors.Write"/> of <see cref="Live"/>), one key at a
    /// time: while the model trained, θ_b was on disk, not in memory.
    /// </summary>
    public static Dictionary<string, Tensor> RestoreTakingChange(Clip model, SpilledTensors saved) => RestoreTakingChange(model, saved.Read);

    // take(key) hands over the saved tensor of a key (it is disposed here).
    static Dictionary<string, Tensor> RestoreTakingChange(Clip model, Func<string, Tensor> take)
    {
        using var guard = no_grad();
        var change = new Dictionary<string, Tensor>();
        foreach (var (name, p) in model.Visual.named_parameters())
        {
            using var scope = NewDisposeScope();
            using var saved = take("visual." + name);
            var before = saved.to(p.device);
            change["visual." + name] = (p.detach().to(ScalarType.Float32) - before.to(ScalarType.Float32)).cpu().MoveToOuterDisposeScope();
            p.copy_(before);
        }
        return change;
    }

    /// <summary>SHA-256 over the image tower's float32 parameter bytes in name order: which θ a vector was taken from.</summary>
    public static string Hash(Clip model)
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var (name, p) in model.Visual.named_parameters().OrderBy(p => p.name, StringComparer.Ordinal))
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
            using var values = p.detach().cpu().contiguous();
            sha.AppendData(values.bytes);
        }
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }

    public static void Dispose(IEnumerable<Dictionary<string, Tensor>> states)
    {
        foreach (var t in states.SelectMany(s => s.Values)) t.Dispose();
    }
}
