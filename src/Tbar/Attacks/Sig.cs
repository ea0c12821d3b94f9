using static TorchSharp.torch;

namespace Tbar.Attacks;

/// <summary>SIG: a horizontal sinusoid added to every row, amplitude·sin(2π·j·frequency/W) at column j, then clamped to [0,1].</summary>
public sealed class Sig : ITrigger
{
    readonly double amplitude, frequency;

    public Sig(TriggerSpec s)
    {
        amplitude = s.Number("amp", 20.0 / 255, 0, 1);
        frequency = s.Number("freq", 6, 0, 1000);
        s.RejectUnknown();
    }

    public string Spec => TriggerSpec.Format("sig", ("amp", amplitude), ("freq", frequency));

    /// <summary>The (W,) signal added to each row.</summary>
    public Tensor Signal(long w) => (arange(w, dtype: ScalarType.Float32) * (2 * Math.PI * frequency / w)).sin() * amplitude;

    public Tensor Apply(Tensor images)
    {
        using var signal = Signal(images.shape[3]);
        return (images + signal.view(1, 1, 1, -1)).clamp(0, 1);
    }
}
