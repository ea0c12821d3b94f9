namespace Tbar.Reporting;

/// <summary>Mean and sample standard deviation (n − 1; 0 for one value) of a result over seeds, and its "mean ± std" cell.</summary>
/// <param name="Mean">Arithmetic mean (NaN for no values).</param>
/// <param name="Std">Sample standard deviation (NaN for no values).</param>
/// <param name="Values">The values, in the order given.</param>
public sealed record MeanStd(double Mean, double Std, double[] Values)
{
    public static MeanStd Of(IEnumerable<double> values)
    {
        var xs = values.ToArray();
        if (xs.Length == 0) return new MeanStd(double.NaN, double.NaN, xs);
        double mean = xs.Average();
        return new MeanStd(mean, Math.Sqrt(xs.Sum(x => (x - mean) * (x - mean)) / Math.Max(1, xs.Length - 1)), xs);
    }

    /// <summary>"m ± s" with both multiplied by <paramref name="scale"/> (100 for %) and formatted; "-" for no values.</summary>
    public string Cell(double scale = 1, string format = "F2") =>
        Values.Length == 0 ? "-" : $"{(scale * Mean).ToString(format)} ± {(scale * Std).ToString(format)}";
}
