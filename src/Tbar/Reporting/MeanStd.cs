using System.Globalization;

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

    /// <summary><see cref="Of"/>, or null when there are no values (a JSON null rather than NaNs).</summary>
    public static MeanStd? IfAny(IEnumerable<double> values)
    {
        var stat = Of(values);
        return stat.Values.Length == 0 ? null : stat;
    }

    /// <summary>
    /// "m ± s" with both multiplied by <paramref name="scale"/> (100 for %) and formatted (in <paramref name="culture"/>,
    /// default the current one); "-" for no values.
    /// </summary>
    public string Cell(double scale = 1, string format = "F2", IFormatProvider? culture = null) =>
        Values.Length == 0 ? "-" : $"{(scale * Mean).ToString(format, culture)} ± {(scale * Std).ToString(format, culture)}";

    /// <summary>"mean ± std" in percent with one decimal, culture-invariant (a method, so that it stays out of the JSON).</summary>
    public string Percent() => Cell(100, "F1", CultureInfo.InvariantCulture);
}
