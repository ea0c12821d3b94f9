using Tbar.Io;
using static TorchSharp.torch;

namespace Tbar.Models;

/// <summary>
/// A model's text tower moved to a temporary file and freed in memory (<see cref="Clip.TextParked"/>): once the zero-shot head
/// is built it holds the class embeddings, and nothing else reads the text tower until the model is written.
/// <see cref="Restore"/> puts the weights back bit for bit; Dispose deletes the file (and does not restore).
/// </summary>
public sealed class ParkedText : IDisposable
{
    readonly Clip model;
    readonly SpilledTensors saved;

    ParkedText(Clip model, SpilledTensors saved) => (this.model, this.saved) = (model, saved);

    /// <summary>Moves the text tower of <paramref name="model"/> to a temporary file; its parameters are left empty.</summary>
    public static ParkedText Park(Clip model)
    {
        if (model.TextParked) throw new TbarException("the text tower is parked already");
        var text = model.TextParameters();
        var saved = SpilledTensors.Write(text.ToDictionary(p => p.Key, p => (Tensor)p.Value));
        using var guard = no_grad();
        foreach (var p in text.Values)
        {
            using var nothing = empty(0, p.dtype, p.device);
            p.set_(nothing);   // in place: returns p itself
        }
        model.TextParked = true;
        return new ParkedText(model, saved);
    }

    /// <summary>Reads the text tower back into the model (same bytes, dtype, shape and device as when parked).</summary>
    public void Restore()
    {
        if (!model.TextParked) return;
        using var guard = no_grad();
        foreach (var (name, p) in model.TextParameters())
        {
            using var stored = saved.Read(name);
            using var value = stored.to(p.device);
            p.set_(value);
        }
        model.TextParked = false;
    }

    public void Dispose() => saved.Dispose();
}
