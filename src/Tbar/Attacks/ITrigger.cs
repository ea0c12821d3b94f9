using static TorchSharp.torch;

namespace Tbar.Attacks;

/// <summary>A backdoor trigger: a batched, deterministic image transform on [0,1] pixels.</summary>
public interface ITrigger
{
    /// <summary>The one-line spec that rebuilds this trigger, e.g. "badnet:size=3,pattern=checker,loc=br".</summary>
    string Spec { get; }

    /// <summary>(B, 3, H, W) in [0,1] → triggered (B, 3, H, W) in [0,1]; the input is not modified.</summary>
    Tensor Apply(Tensor images);

    /// <summary>
    /// As <see cref="Apply(Tensor)"/> for images identified by <paramref name="ids"/> (dataset indices, one per row). A trigger
    /// that varies per image (BadNet at loc=random) draws from (seed, id), so an image's trigger does not depend on its
    /// batch or its row; without ids the row number stands in for the id.
    /// </summary>
    Tensor Apply(Tensor images, long[] ids) => Apply(images);
}
