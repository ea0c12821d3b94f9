namespace Tbar.Evaluation;

/// <summary>The statistics a detector's verdict and its evaluation need: percentiles, a binomial bound, AUROC.</summary>
public static class DetectionStats
{
    /// <summary>
    /// Φ((x − mean)/sd): where <paramref name="x"/> falls among clean values modelled as normal. Unlike a rank it can tell
    /// "beyond every clean model" apart from "far beyond", which a threshold at a small false-positive rate needs when
    /// only 20 clean models exist. A zero sd counts any value above the mean as the 100th percentile.
    /// </summary>
    public static double Percentile(double x, double mean, double sd) =>
        sd > 0 ? NormalCdf((x - mean) / sd) : x > mean ? 1 : x < mean ? 0 : 0.5;

    /// <summary>Standard normal CDF via the complementary error function.</summary>
    public static double NormalCdf(double z) => 0.5 * Erfc(-z / Math.Sqrt(2));

    /// <summary>erfc by the Chebyshev-fitted exponential of Numerical Recipes (§6.2), relative error below 1.2e-7.</summary>
    static double Erfc(double x)
    {
        double z = Math.Abs(x), t = 1 / (1 + 0.5 * z);
        double poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807
            + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
        double r = t * Math.Exp(poly);
        return x >= 0 ? r : 2 - r;
    }

    /// <summary>
    /// The Clopper–Pearson upper bound of a rate seen as <paramref name="hits"/> of <paramref name="total"/>, at two-sided
    /// <paramref name="confidence"/>: the p at which P(Binomial(total, p) ≤ hits) = (1 − confidence)/2 (0 of 20 gives 16.8 %
    /// at 95 %). Found by bisection on the binomial CDF.
    /// </summary>
    public static double ClopperPearsonUpper(long hits, long total, double confidence = 0.95)
    {
        if (total < 1 || hits < 0 || hits > total) throw new TbarException($"a rate needs 0 ≤ hits ≤ total, total ≥ 1 (got {hits} of {total})");
        if (hits == total) return 1;
        double tail = (1 - confidence) / 2, lo = (double)hits / total, hi = 1;
        for (int i = 0; i < 100; i++)
        {
            double mid = (lo + hi) / 2;
            if (BinomialCdf(hits, total, mid) > tail) lo = mid; else hi = mid;
        }
        return hi;
    }

    /// <summary>P(Binomial(n, p) ≤ k), summed in log space.</summary>
    static double BinomialCdf(long k, long n, double p)
    {
        double sum = 0, logChoose = 0;
        for (long i = 0; i <= k; i++)
        {
            if (i > 0) logChoose += Math.Log(n - i + 1) - Math.Log(i);
            sum += Math.Exp(logChoose + i * Math.Log(p) + (n - i) * Math.Log(1 - p));
        }
        return sum;
    }

    /// <summary>AUROC: the chance a positive outscores a negative, ties counted half.</summary>
    public static double Auroc(IReadOnlyList<double> positives, IReadOnlyList<double> negatives)
    {
        if (positives.Count == 0 || negatives.Count == 0) throw new TbarException("AUROC needs at least one positive and one negative");
        double wins = positives.Sum(p => negatives.Sum(n => p > n ? 1.0 : p == n ? 0.5 : 0));
        return wins / (positives.Count * (double)negatives.Count);
    }
}
