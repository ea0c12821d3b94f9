using Tbar.Io;
using Tbar.Models;
using static TorchSharp.torch;

namespace Tbar.Arithmetic;

/// <summary>
/// A weight-space direction: parameter name → difference tensor (CPU, float32). Which parameters take part is the policy of
/// whoever builds it (TBAR: the image tower's floating-point parameters). Mismatched keys or shapes throw naming the key.
/// </summary>
public sealed class TaskVector : IDisposable
{
    readonly SortedDictionary<string, Tensor> deltas;

    /// <summary>Metadata stored with the vector (base model hash, trigger spec, recipe, ...).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public TaskVector(IDictionary<string, Tensor> deltas, IReadOnlyDictionary<string, string>? metadata = null)
    {
        this.deltas = new SortedDictionary<string, Tensor>(deltas.ToDictionary(p => p.Key, p => p.Value), StringComparer.Ordinal);
        Metadata = metadata ?? new Dictionary<string, string>();
    }

    /// <summary>Parameter names, sorted.</summary>
    public IEnumerable<string> Keys => deltas.Keys;

    /// <summary>The difference tensor of a parameter.</summary>
    public Tensor this[string key] => deltas.TryGetValue(key, out var t) ? t : throw new TbarException($"task vector has no parameter '{key}'");

    /// <summary>τ = after − before over the given parameter names.</summary>
    public static TaskVector Between(IReadOnlyDictionary<string, Tensor> before, IReadOnlyDictionary<string, Tensor> after,
        IEnumerable<string> keys, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var result = new Dictionary<string, Tensor>();
        foreach (var key in keys)
        {
            var (a, b) = (Get(before, key, "before"), Get(after, key, "after"));
            if (!a.shape.SequenceEqual(b.shape)) throw new TbarException($"parameter '{key}': shapes [{string.Join(",", a.shape)}] and [{string.Join(",", b.shape)}] differ");
            // The detached and converted views alias the inputs' storage: disposed here, not left to the finaliser.
            using var scope = NewDisposeScope();
            result[key] = (b.detach().to(ScalarType.Float32) - a.detach().to(ScalarType.Float32)).cpu().MoveToOuterDisposeScope();
        }
        return new TaskVector(result, metadata);
    }

    static Tensor Get(IReadOnlyDictionary<string, Tensor> d, string key, string which) =>
        d.TryGetValue(key, out var t) ? t : throw new TbarException($"parameter '{key}' is missing from the {which} weights");

    public static TaskVector operator +(TaskVector a, TaskVector b) => Combine(a, b, (x, y) => x + y);
    public static TaskVector operator -(TaskVector a, TaskVector b) => Combine(a, b, (x, y) => x - y);
    public static TaskVector operator -(TaskVector a) => a * -1.0;
    public static TaskVector operator *(TaskVector a, double s) => new(a.deltas.ToDictionary(p => p.Key, p => p.Value * s), a.Metadata);
    public static TaskVector operator *(double s, TaskVector a) => a * s;

    static TaskVector Combine(TaskVector a, TaskVector b, Func<Tensor, Tensor, Tensor> op)
    {
        var missing = a.Keys.Except(b.Keys).Concat(b.Keys.Except(a.Keys)).ToList();
        if (missing.Count > 0) throw new TbarException($"task vectors differ in parameter '{missing[0]}' ({missing.Count} mismatched keys)");
        return new TaskVector(a.deltas.ToDictionary(p => p.Key, p =>
        {
            var other = b.deltas[p.Key];
            if (!p.Value.shape.SequenceEqual(other.shape)) throw new TbarException($"parameter '{p.Key}': task vector shapes differ");
            return op(p.Value, other);
        }));
    }

    /// <summary>Euclidean norm over all entries, in float64 (<see cref="VectorMaths"/>).</summary>
    public double Norm() => VectorMaths.Norm(this);

    /// <summary>Checks every key exists in <paramref name="model"/> with the same shape; throws naming the first that does not.</summary>
    public void CheckFits(Clip model)
    {
        var parameters = model.Parameters();
        foreach (var (key, t) in deltas)
        {
            if (!parameters.TryGetValue(key, out var p)) throw new TbarException($"task vector parameter '{key}' does not exist in the model (another architecture?)");
            if (!p.shape.SequenceEqual(t.shape))
                throw new TbarException($"task vector parameter '{key}' has shape [{string.Join(",", t.shape)}], the model's is [{string.Join(",", p.shape)}]");
            if (!t.isfinite().all().item<bool>()) throw new TbarException($"task vector parameter '{key}' holds NaN or infinite values");
        }
    }

    /// <summary>Writes the vector (open_clip-style parameter names) with its metadata as safetensors, atomically.</summary>
    public void Save(string path) => SafeTensors.Save(path, deltas, Metadata);

    /// <summary>Reads a vector written by <see cref="Save"/>.</summary>
    public static TaskVector Load(string path)
    {
        var file = SafeTensors.Open(path);
        if (file.Entries.Count == 0) throw new TbarException($"{path}: a task vector needs at least one tensor");
        var tensors = file.Entries.ToDictionary(e => e.Name, e => ReadDelta(file, e));
        return new TaskVector(tensors, file.Metadata);
    }

    // τ is untrusted input like any weights file: floating point and finite, or an error naming the key.
    static Tensor ReadDelta(SafeTensorsFile file, SafeTensorEntry e)
    {
        if (e.DType is not (SafeDType.F32 or SafeDType.F16 or SafeDType.BF16 or SafeDType.F64))
            throw new TbarException($"{file.Path}: tensor '{e.Name}' has dtype {e.DType}, a task vector holds floating-point differences");
        using var stored = file.ReadTensor(e.Name);
        var delta = stored.to(ScalarType.Float32);
        if (!delta.isfinite().all().item<bool>()) throw new TbarException($"{file.Path}: tensor '{e.Name}' holds NaN or infinite values");
        return delta;
    }

    public void Dispose()
    {
        foreach (var t in deltas.Values) t.Dispose();
    }
}
