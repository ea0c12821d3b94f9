using ScottPlot;
using Tbar.Evaluation;
using Tbar.Io;

namespace Tbar.Reporting;

/// <summary>PNG plots of results (ScottPlot), written atomically.</summary>
public static class Plots
{
    /// <summary>Validation CA and ASR against α, with the chosen α marked.</summary>
    public static void AlphaCurve(string path, AlphaChoice choice, string title)
    {
        var plot = new Plot();
        var xs = choice.Curve.Select(p => p.Alpha).ToArray();
        var ca = plot.Add.Scatter(xs, choice.Curve.Select(p => p.CleanAccuracy.Value).ToArray());
        ca.LegendText = "validation CA";
        var asr = plot.Add.Scatter(xs, choice.Curve.Select(p => p.AttackSuccess.Value).ToArray());
        asr.LegendText = "validation ASR";
        var chosen = plot.Add.VerticalLine(choice.Alpha);
        chosen.LegendText = $"chosen α = {choice.Alpha:G3}{(choice.Feasible ? "" : " (rule not met)")}";
        chosen.LinePattern = LinePattern.Dashed;
        plot.Axes.SetLimitsY(0, 1.02);
        plot.Title(title);
        plot.XLabel("α (θ = θ_b − α·τ)");
        plot.YLabel("share of validation images");
        plot.ShowLegend(Alignment.MiddleRight);
        Save(plot, path);
    }

    /// <summary>Grouped bars: CA and ASR per method on the test split.</summary>
    public static void MethodBars(string path, IReadOnlyList<(string Name, double Ca, double Asr)> rows, string title)
    {
        var plot = new Plot();
        var bars = new List<Bar>();
        for (int i = 0; i < rows.Count; i++)
        {
            bars.Add(new Bar { Position = 3 * i, Value = rows[i].Ca, FillColor = Colors.SteelBlue });
            bars.Add(new Bar { Position = 3 * i + 1, Value = rows[i].Asr, FillColor = Colors.OrangeRed });
        }
        plot.Add.Bars(bars);
        plot.Axes.Bottom.SetTicks(rows.Select((_, i) => 3.0 * i + 0.5).ToArray(), rows.Select(r => r.Name).ToArray());
        plot.Axes.SetLimitsY(0, 1.05);
        plot.Title(title + "  (blue: CA, red: ASR)");
        plot.YLabel("share of test images");
        Save(plot, path);
    }

    static void Save(Plot plot, string path) => AtomicFile.WriteBytes(path, plot.GetImageBytes(900, 500, ImageFormat.Png));
}
