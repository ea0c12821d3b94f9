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
        SaveAlphaAxes(plot, title, path);
    }

    /// <summary>The axes, title and legend of a validation curve against α, then the file.</summary>
    static void SaveAlphaAxes(Plot plot, string title, string path)
    {
        plot.Axes.SetLimitsY(0, 1.02);
        plot.Title(title);
        plot.XLabel("α (θ = θ_b − α·τ)");
        plot.YLabel("share of validation images");
        plot.ShowLegend(Alignment.MiddleRight);
        Save(plot, path);
    }

    /// <summary>Every arithmetic method's validation curve (ASR solid, CA dashed, target-class CA dotted), each chosen α marked.</summary>
    public static void AlphaCurves(string path, IReadOnlyList<(string Name, AlphaChoice Choice)> methods, string title)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (int i = 0; i < methods.Count; i++)
        {
            var (name, choice) = methods[i];
            var color = palette.GetColor(i);
            var xs = choice.Curve.Select(p => p.Alpha).ToArray();
            var asr = plot.Add.Scatter(xs, choice.Curve.Select(p => p.AttackSuccess.Value).ToArray(), color);
            asr.LegendText = $"{name} ASR (α = {choice.Alpha:G3})";
            var ca = plot.Add.Scatter(xs, choice.Curve.Select(p => p.CleanAccuracy.Value).ToArray(), color);
            ca.LinePattern = LinePattern.Dashed;
            ca.LegendText = $"{name} CA";
            var withTarget = choice.Curve.Where(p => p.TargetClass != null).ToList();
            if (withTarget.Count > 0)
            {
                var target = plot.Add.Scatter(withTarget.Select(p => p.Alpha).ToArray(), withTarget.Select(p => p.TargetClass!.Value).ToArray(),
                    color);
                target.LinePattern = LinePattern.Dotted;
                target.LegendText = $"{name} target-class CA";
            }
            var chosen = plot.Add.VerticalLine(choice.Alpha, color: color);
            chosen.LinePattern = LinePattern.Dashed;
        }
        SaveAlphaAxes(plot, title, path);
    }

    /// <summary>Validation clean loss, CA and ASR along the straight path θ_b → θ_out.</summary>
    public static void PathCurve(string path, Analysis.PathResult result, string title)
    {
        var plot = new Plot();
        var ts = result.Points.Select(p => p.T).ToArray();
        plot.Add.Scatter(ts, result.Points.Select(p => p.Validation.CleanAccuracy.Value).ToArray()).LegendText = "validation CA";
        plot.Add.Scatter(ts, result.Points.Select(p => p.Validation.AttackSuccess.Value).ToArray()).LegendText = "validation ASR";
        var loss = plot.Add.Scatter(ts, result.Points.Select(p => p.CleanLoss).ToArray());
        loss.LegendText = "clean loss (right axis)";
        loss.Axes.YAxis = plot.Axes.Right;
        plot.Axes.Left.Min = 0;
        plot.Axes.Left.Max = 1.02;
        plot.Title(title);
        plot.XLabel("t (θ = θ_b + t·(θ_out − θ_b))");
        plot.YLabel("share of validation images");
        plot.Axes.Right.Label.Text = "mean cross-entropy";
        plot.ShowLegend(Alignment.MiddleRight);
        Save(plot, path);
    }

    /// <summary>Every row with a linearisation gap: relapse ASR and target-class CA (test) against the gap at τ.</summary>
    public static void GapScatter(string path, IReadOnlyList<Pipelines.MainRow> rows, string title)
    {
        var measured = rows.Where(r => r.Linear != null).ToList();
        var plot = new Plot();
        var xs = measured.Select(r => r.Linear!.Gap).ToArray();
        var relapse = plot.Add.ScatterPoints(xs, measured.Select(r => r.RelapseAsr ?? double.NaN).ToArray());
        relapse.LegendText = "relapse ASR";
        var target = plot.Add.ScatterPoints(xs, measured.Select(r => r.TargetCa).ToArray());
        target.LegendText = "target-class CA";
        plot.Axes.SetLimitsY(0, 1.02);
        plot.Title(title);
        plot.XLabel("linearisation gap at τ");
        plot.YLabel("share of test images");
        plot.ShowLegend(Alignment.UpperRight);
        Save(plot, path);
    }

    /// <summary>Grouped bars: CA and ASR per method on the test split.</summary>
    public static void MethodBars(string path, IReadOnlyList<(string Name, double Ca, double Asr)> rows, string title) =>
        MethodBars(path, [.. rows.Select(r => (r.Name, r.Ca, r.Asr, (double?)null))], title);

    /// <summary>Grouped bars: CA, ASR and, where measured, relapse ASR per method on the test split.</summary>
    public static void MethodBars(string path, IReadOnlyList<(string Name, double Ca, double Asr, double? Relapse)> rows, string title)
    {
        var plot = new Plot();
        var bars = new List<Bar>();
        bool relapse = rows.Any(r => r.Relapse != null);
        int width = relapse ? 4 : 3;
        for (int i = 0; i < rows.Count; i++)
        {
            bars.Add(new Bar { Position = width * i, Value = rows[i].Ca, FillColor = Colors.SteelBlue });
            bars.Add(new Bar { Position = width * i + 1, Value = rows[i].Asr, FillColor = Colors.OrangeRed });
            if (rows[i].Relapse is double r) bars.Add(new Bar { Position = width * i + 2, Value = r, FillColor = Colors.DarkRed });
        }
        plot.Add.Bars(bars);
        plot.Axes.Bottom.SetTicks(rows.Select((_, i) => (double)width * i + (relapse ? 1 : 0.5)).ToArray(), rows.Select(r => r.Name).ToArray());
        plot.Axes.SetLimitsY(0, 1.05);
        plot.Title(title + (relapse ? "  (blue: CA, red: ASR, dark red: ASR after one clean epoch)" : "  (blue: CA, red: ASR)"));
        plot.YLabel("share of test images");
        Save(plot, path);
    }

    /// <summary>Trigger inversion: similarity of stamped images and mask size (PL1) against the step, with the similarity target.</summary>
    public static void InversionTrace(string path, IReadOnlyList<Inversion.InversionStep> trace, double target, string title)
    {
        var plot = new Plot();
        var xs = trace.Select(s => (double)s.Step).ToArray();
        var sim = plot.Add.Scatter(xs, trace.Select(s => s.Similarity).ToArray());
        sim.LegendText = "mean pairwise cosine similarity";
        sim.MarkerSize = 0;
        var pl1 = plot.Add.Scatter(xs, trace.Select(s => s.Pl1).ToArray());
        pl1.LegendText = "PL1 (mask share of the image)";
        pl1.MarkerSize = 0;
        var line = plot.Add.HorizontalLine(target);
        line.LegendText = $"similarity target {target:G3}";
        line.LinePattern = LinePattern.Dashed;
        plot.Axes.SetLimitsY(0, 1.02);
        plot.Title(title);
        plot.XLabel("step");
        plot.ShowLegend(Alignment.MiddleRight);
        Save(plot, path);
    }

    /// <summary>Heatmap of ξ over (α_c, α_t), each cell labelled with its value.</summary>
    public static void XiHeatmap(string path, Analysis.XiGrid grid, string title)
    {
        int nc = grid.AlphasClean.Length, nt = grid.AlphasTrigger.Length;
        var values = new double[nt, nc];
        // Row 0 is drawn at the top: the largest α_t.
        for (int t = 0; t < nt; t++)
            for (int c = 0; c < nc; c++)
                values[nt - 1 - t, c] = grid.At(c, t).Xi;
        var plot = new Plot();
        var map = plot.Add.Heatmap(values);
        // The extent spans the cell centres; ScottPlot draws each cell around its centre.
        map.Extent = new CoordinateRect(grid.AlphasClean[0], grid.AlphasClean[^1], grid.AlphasTrigger[0], grid.AlphasTrigger[^1]);
        map.Colormap = new ScottPlot.Colormaps.Viridis();
        map.ManualRange = new ScottPlot.Range(0, 1);
        plot.Add.ColorBar(map);
        for (int t = 0; t < nt; t++)
            for (int c = 0; c < nc; c++)
            {
                var label = plot.Add.Text(grid.At(c, t).Xi.ToString("F2"), grid.AlphasClean[c], grid.AlphasTrigger[t]);
                label.LabelFontSize = 10;
                label.LabelFontColor = grid.At(c, t).Xi > 0.5 ? Colors.Black : Colors.White;
                label.LabelAlignment = Alignment.MiddleCenter;
            }
        plot.Title(title);
        plot.XLabel("α_c (clean vector)");
        plot.YLabel("α_t (trigger vector)");
        Save(plot, path);
    }

    /// <summary>Per-block bars: τ_t's share of its squared norm (blue) and cos(τ_t, τ_c) (orange).</summary>
    public static void VectorBlocks(string path, Analysis.VectorStatsResult stats, string title)
    {
        var plot = new Plot();
        var bars = new List<Bar>();
        for (int i = 0; i < stats.Blocks.Count; i++)
        {
            bars.Add(new Bar { Position = 3 * i, Value = stats.Blocks[i].TriggerEnergyShare, FillColor = Colors.SteelBlue });
            bars.Add(new Bar { Position = 3 * i + 1, Value = stats.Blocks[i].Cosine, FillColor = Colors.DarkOrange });
        }
        plot.Add.Bars(bars);
        plot.Axes.Bottom.SetTicks(stats.Blocks.Select((_, i) => 3.0 * i + 0.5).ToArray(), stats.Blocks.Select(b => b.Block).ToArray());
        plot.Axes.SetLimitsY(Math.Min(0, stats.Blocks.Min(b => b.Cosine)) - 0.05, 1.05);
        plot.Title(title + "  (blue: share of ‖τ_t‖², orange: cos(τ_t, τ_c))");
        Save(plot, path);
    }

    /// <summary>Test CA and ASR against the forget-set size (log scale).</summary>
    public static void ForgetSizes(string path, IReadOnlyList<Pipelines.ForgetSizePoint> points, string title)
    {
        var plot = new Plot();
        var xs = points.Select(p => Math.Log10(p.Size)).ToArray();
        var ca = plot.Add.Scatter(xs, points.Select(p => p.Test.CleanAccuracy.Value).ToArray());
        ca.LegendText = "test CA";
        var asr = plot.Add.Scatter(xs, points.Select(p => p.Test.AttackSuccess?.Value ?? 0).ToArray());
        asr.LegendText = "test ASR";
        plot.Axes.Bottom.SetTicks(xs, points.Select(p => p.Size.ToString()).ToArray());
        plot.Axes.SetLimitsY(0, 1.02);
        plot.Title(title);
        plot.XLabel("forget-set size (triggered images)");
        plot.ShowLegend(Alignment.MiddleRight);
        Save(plot, path);
    }

    static void Save(Plot plot, string path) => AtomicFile.WriteBytes(path, plot.GetImageBytes(900, 500, ImageFormat.Png));
}
