using Tbar.Attacks;
using Tbar.Training;

namespace Tbar.Unlearning;

/// <summary>
/// The τ estimators by the names users type: the one list that methods (<see cref="TbarOptions.Tau"/>, <c>tbar:NAME</c>),
/// the arithmetic and compose experiments and the CLI read. Each entry builds an estimator for a forget fine-tune recipe.
/// Besides the names, a spec "tau:key=value,…" composes one (<see cref="Spec"/>).
/// </summary>
public static class TauEstimators
{
    static readonly string[] Readout = ["proj", "ln_post."];

    static CleanConsistency Emb(double lambda, bool paired = false, double share = 0) => new(Consistency.Embeddings, lambda, paired, share);

    static readonly Dictionary<string, Func<TrainOptions, ITauEstimator>> Registry = new(StringComparer.Ordinal)
    {
        ["plain"] = r => new ForgetFineTune(r),
        ["kl-1"] = r => new ForgetFineTune(r, new CleanConsistency(Consistency.Logits, 1)),
        ["kl-1-ts05"] = r => new ForgetFineTune(r, new CleanConsistency(Consistency.Logits, 1, TargetShare: 0.5)),
        ["emb-1"] = r => new ForgetFineTune(r, Emb(1)),
        ["emb-3"] = r => new ForgetFineTune(r, Emb(3)),
        ["emb-10"] = r => new ForgetFineTune(r, Emb(10)),
        ["emb-100"] = r => new ForgetFineTune(r, Emb(100)),
        ["emb-1000"] = r => new ForgetFineTune(r, Emb(1000)),
        ["emb-paired-10"] = r => new ForgetFineTune(r, Emb(10, paired: true)),
        ["emb-paired-100"] = r => new ForgetFineTune(r, Emb(100, paired: true)),
        ["emb-ts05-10"] = r => new ForgetFineTune(r, Emb(10, share: 0.5)),
        ["emb-ts05-100"] = r => new ForgetFineTune(r, Emb(100, share: 0.5)),
        ["feature"] = r => new ForgetFineTune(r, Frozen: Readout, EmbeddingLoss: true),
        ["feature-emb-100"] = r => new ForgetFineTune(r, Emb(100), Frozen: Readout, EmbeddingLoss: true),
        ["subspace-8"] = r => new TargetSpanRemoved(new ForgetFineTune(r), 8),
        ["subspace-32"] = r => new TargetSpanRemoved(new ForgetFineTune(r), 32),
        ["orth-target"] = r => new TargetVectorRemoved(new ForgetFineTune(r), TargetProjection.PerTensor),
        ["orth-target-global"] = r => new TargetVectorRemoved(new ForgetFineTune(r), TargetProjection.Global),
        ["emb-3+orth-target"] = r => new TargetVectorRemoved(new ForgetFineTune(r, Emb(3)), TargetProjection.PerTensor),
        // The tangent-space estimators (experiments/durable): the linearised fine-tune, the drift penalty alone in the ordinary
        // fine-tune, and both together.
        ["tangent"] = r => new TangentFineTune(r),
        ["drift-1"] = r => new ForgetFineTune(r, Drift: new DriftPenalty(1)),
        ["drift-10"] = r => new ForgetFineTune(r, Drift: new DriftPenalty(10)),
        ["drift-100"] = r => new ForgetFineTune(r, Drift: new DriftPenalty(100)),
        ["tangent-drift-1"] = r => new TangentFineTune(r, new DriftPenalty(1)),
        ["tangent-drift-10"] = r => new TangentFineTune(r, new DriftPenalty(10)),
        ["tangent-drift-100"] = r => new TangentFineTune(r, new DriftPenalty(100)),
    };

    /// <summary>Valid names, in table order.</summary>
    public static IReadOnlyCollection<string> Names => Registry.Keys;

    /// <summary>The estimator by name or "tau:…" spec for <paramref name="recipe"/>; an unknown name lists the valid ones.</summary>
    public static ITauEstimator Get(string name, TrainOptions recipe)
    {
        if (Registry.TryGetValue(name, out var make)) return make(recipe);
        if (!name.StartsWith("tau:"))
            throw new TbarException($"unknown τ estimator '{name}' (valid: {string.Join(", ", Registry.Keys)}, or a tau:… spec)");
        var spec = TriggerSpec.Parse(name);
        var estimator = Spec(spec, recipe);
        spec.RejectUnknown();
        return estimator;
    }

    /// <summary>
    /// The estimator of a spec "tau:linear=0|1,consistency=none|logits|embeddings,lambda=L,drift=D,lr=R,epochs=E,paired=0|1,share=S,
    /// frozen=0|1,embloss=0|1,k=K,orth=0|1|2" (orth: 1 global, 2 per tensor). linear=1 is the tangent fine-tune, which takes a
    /// drift penalty but no consistency penalty. Reads only its own keys, so a caller may read more before rejecting the rest.
    /// </summary>
    public static ITauEstimator Spec(TriggerSpec spec, TrainOptions recipe)
    {
        recipe = recipe with
        {
            LearningRate = spec.Number("lr", recipe.LearningRate, 1e-7, 1), Epochs = spec.Int("epochs", recipe.Epochs, 1, 100),
        };
        bool linear = spec.Int("linear", 0, 0, 1) == 1;
        double drift = spec.Number("drift", 0, 0, 1e6);
        var driftPenalty = drift > 0 ? new DriftPenalty(drift) : null;
        bool embeddingLoss = spec.Int("embloss", 0, 0, 1) == 1;
        ITauEstimator estimator;
        if (linear)
        {
            if (spec.Choice("consistency", "none", "none", "logits", "embeddings") != "none")
                throw new TbarException($"τ spec '{spec.Name}': the tangent fine-tune (linear=1) takes drift=λ, not a consistency penalty");
            estimator = new TangentFineTune(recipe, driftPenalty, embeddingLoss);
        }
        else
        {
            var kind = spec.Choice("consistency", "embeddings", "none", "logits", "embeddings") switch
            {
                "none" => Consistency.None, "logits" => Consistency.Logits, _ => Consistency.Embeddings,
            };
            double lambda = spec.Number("lambda", 10, 0, 1e6);
            bool paired = spec.Int("paired", 0, 0, 1) == 1;
            double share = spec.Number("share", 0, 0, 0.99);
            var consistency = kind == Consistency.None ? null : new CleanConsistency(kind, lambda, paired, share);
            estimator = new ForgetFineTune(recipe, consistency, driftPenalty, spec.Int("frozen", 0, 0, 1) == 1 ? Readout : null, embeddingLoss);
        }
        int k = spec.Int("k", 0, 0, 4096);
        if (k > 0) estimator = new TargetSpanRemoved(estimator, k);
        var orth = (TargetProjection)spec.Int("orth", 0, 0, 2);
        return orth == TargetProjection.None ? estimator : new TargetVectorRemoved(estimator, orth);
    }
}
