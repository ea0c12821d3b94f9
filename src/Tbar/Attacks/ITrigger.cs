using static TorchSharp.torch;

namespace Tbar.Attacks;

/// <summary>A backdoor trigger: a batched, deterministic image transform on [0,1] pixels.</summary>
public interface ITrigger
{
    /// <summary>The one-line spec that rebuilds this trigger, e.g. "badnet:size=3,pattern=checker,loc=br".</summary>
    string Spec { get; }

    /// <summary>(B, 3, H, W) in [0,1] → triggered (B, 3, H, W) in [0,1]; the input is not modified.</summary>
    Tensor Apply(Tensor images);
}
