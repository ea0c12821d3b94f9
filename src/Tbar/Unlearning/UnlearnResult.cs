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

/// <summary>One learning rate of a fine-tuning baseline's sweep (its <see cref="UnlearnResult.Extra"/>): validation CA and ASR.</summary>
public sealed record LrTrial(double Lr, double ValCa, double ValAsr);

/// <summary>One validation point of GA's early-stopping trace (its <see cref="UnlearnResult.Extra"/>).</summary>
public sealed record AscentPoint(double Lr, int Step, double ValCa, double ValAsr);
