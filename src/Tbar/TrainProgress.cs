namespace Tbar;

/// <summary>One progress report of a long loop (training, inversion, a grid of evaluations).</summary>
/// <param name="Step">Steps done.</param>
/// <param name="TotalSteps">Steps planned.</param>
/// <param name="Loss">Loss of the last step (0 where there is none).</param>
/// <param name="ImagesPerSecond">Throughput since the start (0 where not measured).</param>
public sealed record TrainProgress(int Step, int TotalSteps, double Loss, double ImagesPerSecond);
