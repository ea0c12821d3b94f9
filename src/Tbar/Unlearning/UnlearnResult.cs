using Tbar.Arithmetic;
using Tbar.Evaluation;

namespace Tbar.Unlearning;

/// <summary>What an unlearning method did: the α choice (TBAR) or the chosen hyper-parameter, validation numbers, time.</summary>
/// <param name="Method">Registry name, e.g. "tbar".</param>
/// <param name="Alpha">TBAR's α choice with its whole validation curve (null for other methods).</param>
/// <param name="Choice">Human-readable account of the chosen setting.</param>
/// <param name="Validation">Validation CA/ASR of the returned model.</param>
/// <param name="Tau">The trigger vector (TBAR-style methods), owned by the result.</param>
/// <param name="Seconds">Wall time.</param>
/// <param name="Extra">Method-specific records (LR sweep, early-stopping trace, ...).</param>
public sealed record UnlearnResult(string Method, AlphaChoice? Alpha, string Choice, AlphaPoint Validation, TaskVector? Tau,
    double Seconds, object? Extra = null);
