using System.Text;
using Tbar.Analysis;
using Tbar.Io;
using Tbar.Pipelines;

namespace Tbar.Reporting;

/// <summary>Settings recorded by `tbar analyze disentangle`.</summary>
public sealed record DisentangleSettings(string Unlearned, double AlphaStar, string TriggerSpec, string Target, int Images);
/// <summary>Settings recorded by `tbar analyze vectors`.</summary>
public sealed record VectorsSettings(string Unlearned, double AlphaStar);
/// <summary>Results of `tbar analyze vectors`: per-block statistics and cos(τ_t, θ_b − θ_pre).</summary>
public sealed record VectorsResults(VectorStatsResult Stats, double CosineWithWholeFineTune);
/// <summary>Settings recorded by `tbar analyze forget-size`.</summary>
public sealed record ForgetSizeSettings(string Unlearned, int[] Sizes, string Rule);
/// <summary>One forget-set size in forget-size.json.</summary>
public sealed record ForgetSizeRow(int Size, double Alpha, bool Feasible, double Ca, double? Asr, double Seconds);
/// <summary>One model in transfer.json.</summary>
public sealed record TransferRowRecord(string Model, double? Alpha, double Ca, double? Asr, string Note);
/// <summary>Settings recorded by `tbar analyze relapse`.</summary>
public sealed record RelapseSettings(string Unlearned, double AlphaStar, string TriggerSpec, string Target, double[] Multiples);
/// <summary>Results of `tbar analyze transfer`.</summary>
public sealed record TransferResults(double VectorCosine, IReadOnlyList<TransferRowRecord> Rows);

/// <summary>
/// What each `tbar analyze` subcommand leaves in its folder: a JSON record, a PNG and a section.md that `tbar report`
/// gathers. Each writer returns the section's Markdown.
/// </summary>
public static class AnalysisReport
{
    const string Section = "section.md";

    public static string Disentangle(string dir, string command, DisentangleSettings s, XiGrid result, double seconds)
    {
        Directory.CreateDirectory(dir);
        Plots.XiHeatmap(Path.Combine(dir, "xi.png"), result, "disentanglement error ξ(α_c, α_t)");
        new RunRecord(command, s, 0, result, seconds).Save(Path.Combine(dir, "xi.json"));
        return WriteSection(dir, DisentangleMarkdown(s, result));
    }

    public static string DisentangleMarkdown(DisentangleSettings s, XiGrid result)
    {
        var unit = result.Points.Where(q => q.AlphaClean is >= 0 and <= 1 && q.AlphaTrigger is >= 0 and <= 1).ToList();
        return "## Disentanglement error\n\nξ(α_c, α_t) for θ_pre + α_c·τ_c + α_t·τ_t, with τ_c = θ_b − θ_pre − α*·τ_t " +
            $"(α* = {s.AlphaStar:G3}), on {s.Images} clean and {result.TriggeredImages} triggered test images (`tbar analyze disentangle`). " +
            $"Mean ξ over the grid: {result.Points.Average(q => q.Xi):F3}; " +
            $"over α_c, α_t ∈ [0, 1]: {unit.DefaultIfEmpty().Average(q => q?.Xi ?? 0):F3}; " +
            $"largest: {result.Points.Max(q => q.Xi):F3}.\n\n![ξ](xi.png)\n";
    }

    public static string Vectors(string dir, string command, VectorsSettings s, VectorsResults r, double seconds)
    {
        Directory.CreateDirectory(dir);
        Plots.VectorBlocks(Path.Combine(dir, "vectors.png"), r.Stats, "τ_t against τ_c per block");
        new RunRecord(command, s, 0, r, seconds).Save(Path.Combine(dir, "vectors.json"));
        return WriteSection(dir, VectorsMarkdown(s, r));
    }

    public static string VectorsMarkdown(VectorsSettings s, VectorsResults r)
    {
        var stats = r.Stats;
        var sb = new StringBuilder($"## Trigger and clean vectors\n\n‖τ_t‖ = {stats.TriggerNorm:G4}, ‖τ_c‖ = {stats.CleanNorm:G4}, " +
            $"cos(τ_t, τ_c) = {stats.Cosine:F4} over the image tower, with τ_c = θ_b − θ_pre − α*·τ_t (α* = {s.AlphaStar:G3}); " +
            $"cos(τ_t, θ_b − θ_pre) = {r.CosineWithWholeFineTune:F4} (`tbar analyze vectors`).\n\n" +
            "| block | parameters | ‖τ_t‖ | ‖τ_c‖ | cos | share of ‖τ_t‖² |\n|---|---|---|---|---|---|\n");
        foreach (var b in stats.Blocks)
            sb.Append($"| {b.Block} | {b.Parameters:N0} | {b.TriggerNorm:G4} | {b.CleanNorm:G4} | {b.Cosine:F4} | {b.TriggerEnergyShare:P1} |\n");
        return sb.Append("\n![vectors](vectors.png)\n").ToString();
    }

    public static string ForgetSize(string dir, string command, ForgetSizeSettings s, UnlearnedRun run, IReadOnlyList<ForgetSizePoint> points,
        long seed, double seconds)
    {
        Directory.CreateDirectory(dir);
        Plots.ForgetSizes(Path.Combine(dir, "forget-size.png"), points, $"TBAR ({s.Rule}) against forget-set size");
        var rows = points.Select(p => new ForgetSizeRow(p.Size, p.Alpha, p.Feasible, p.Test.CleanAccuracy.Value, p.Test.AttackSuccess?.Value,
            p.Seconds)).ToList();
        new RunRecord(command, s, seed, rows, seconds).Save(Path.Combine(dir, "forget-size.json"));
        return WriteSection(dir, ForgetSizeMarkdown(s, run, points));
    }

    public static string ForgetSizeMarkdown(ForgetSizeSettings s, UnlearnedRun run, IReadOnlyList<ForgetSizePoint> points)
    {
        var sb = new StringBuilder($"## Forget-set size\n\nTBAR (`{s.Rule}` α rule) on `{run.Backdoored}`, trigger `{run.TriggerSpec}` " +
            "(`tbar analyze forget-size`). Test split.\n\n| forget images | α | rule met | CA | ASR | seconds |\n|---|---|---|---|---|---|\n");
        foreach (var p in points)
            sb.Append($"| {p.Size} | {p.Alpha:G3} | {(p.Feasible ? "yes" : "no")} | {p.Test.CleanAccuracy.Value:P2} | " +
                $"{p.Test.AttackSuccess?.Value:P2} | {p.Seconds:F1} |\n");
        return sb.Append("\n![forget size](forget-size.png)\n").ToString();
    }

    public static string Transfer(string dir, string command, TransferSettings s, TransferResult result, long seed, double seconds)
    {
        Directory.CreateDirectory(dir);
        Plots.MethodBars(Path.Combine(dir, "transfer.png"),
            result.Rows.Select(x => (x.Model, x.Test.CleanAccuracy.Value, x.Test.AttackSuccess?.Value ?? 0)).ToList(), "dataset B test split");
        var rows = result.Rows.Select(x => new TransferRowRecord(x.Model, x.Alpha, x.Test.CleanAccuracy.Value, x.Test.AttackSuccess?.Value, x.Note));
        new RunRecord(command, s, seed, new TransferResults(result.VectorCosine, rows.ToList()), seconds).Save(Path.Combine(dir, "transfer.json"));
        return WriteSection(dir, TransferMarkdown(s, result));
    }

    public static string TransferMarkdown(TransferSettings s, TransferResult result)
    {
        var sb = new StringBuilder($"## Transfer across datasets\n\nA = {string.Join(", ", s.ClassesA)}; B = {string.Join(", ", s.ClassesB)}; " +
            $"trigger `{s.Trigger}`, target {s.Target} (`tbar analyze transfer`). cos(τ_A, τ_B) = {result.VectorCosine:F3}. " +
            "Test split of B.\n\n| model | α | CA | ASR | note |\n|---|---|---|---|---|\n");
        foreach (var x in result.Rows)
            sb.Append($"| {x.Model} | {(x.Alpha is double al ? al.ToString("G3") : "-")} | {x.Test.CleanAccuracy.Value:P2} | " +
                $"{x.Test.AttackSuccess?.Value:P2} | {x.Note} |\n");
        return sb.Append("\n![transfer](transfer.png)\n").ToString();
    }

    public static string Relapse(string dir, string command, RelapseSettings s, RelapseAnatomyResult result, long seed, double seconds)
    {
        Directory.CreateDirectory(dir);
        Plots.MethodBars(Path.Combine(dir, "relapse.png"), [.. result.Points.SelectMany(p => new[]
        {
            ($"α={p.Alpha:G3} negated", p.Negated.CleanAccuracy.Value, p.Negated.AttackSuccess?.Value ?? 0),
            ($"α={p.Alpha:G3} relapsed", p.Relapsed.CleanAccuracy.Value, p.Relapsed.AttackSuccess?.Value ?? 0),
        })], "test CA and ASR before and after the relapse fine-tune");
        new RunRecord(command, s, seed, result, seconds).Save(Path.Combine(dir, "relapse.json"));
        return WriteSection(dir, RelapseMarkdown(s, result));
    }

    public static string RelapseMarkdown(RelapseSettings s, RelapseAnatomyResult result)
    {
        var sb = new StringBuilder($"## Where the relapse comes from\n\n`tbar analyze relapse` on `{s.Unlearned}` (trigger `{s.TriggerSpec}`, " +
            $"target {s.Target}, α* = {s.AlphaStar:G4}, ‖τ‖ = {result.TauNorm:G4}). At θ_b − α·τ, the relapse fine-tune (1 clean epoch of the " +
            "clean budget, LR 1e-4) changes the weights by Δ; c = ⟨Δ, τ⟩/‖τ‖² is its component along τ, c/α the share of the negation it " +
            "takes back. \"along τ\" applies c·τ alone, \"without τ\" applies Δ − c·τ alone. α = 0 is the same fine-tune from θ_b. Test split.\n\n" +
            "| α | CA negated | ASR negated | CA relapsed | ASR relapsed | c | c/α | cos(Δ, τ) | ‖Δ‖ | ASR along τ | ASR without τ |\n" +
            "|---|---|---|---|---|---|---|---|---|---|---|\n");
        foreach (var p in result.Points)
            sb.Append($"| {p.Alpha:G4} | {p.Negated.CleanAccuracy.Value:P2} | {p.Negated.AttackSuccess?.Value:P2} | " +
                $"{p.Relapsed.CleanAccuracy.Value:P2} | {p.Relapsed.AttackSuccess?.Value:P2} | {p.Coefficient:G3} | " +
                $"{(p.Undone is double u ? u.ToString("P1") : "-")} | {p.Cosine:F3} | {p.DeltaNorm:G3} | {p.AsrAlongTau:P2} | " +
                $"{p.AsrOrthogonal:P2} |\n");
        var last = result.Points[^1];
        sb.Append($"\nWhere Δ sits at α = {last.Alpha:G4} (share of ‖Δ‖² and of ‖τ‖² per block, cosine inside the block):\n\n" +
            "| block | Δ energy | τ energy | cos(Δ, τ) |\n|---|---|---|---|\n");
        foreach (var b in last.Blocks)
            sb.Append($"| {b.Block} | {b.DeltaEnergyShare:P1} | {b.TauEnergyShare:P1} | {b.Cosine:F3} |\n");
        return sb.Append("\n![relapse](relapse.png)\n").ToString();
    }

    /// <summary>Writes path.json, path.png and the section for <c>tbar analyze path</c>.</summary>
    public static string StraightPath(string dir, string command, string unlearned, PathResult result, long seed, double seconds)
    {
        Directory.CreateDirectory(dir);
        Plots.PathCurve(System.IO.Path.Combine(dir, "path.png"), result, "straight path from the backdoored model to the method's output");
        new RunRecord(command, new { unlearned }, seed, result, seconds).Save(System.IO.Path.Combine(dir, "path.json"));
        return WriteSection(dir, PathMarkdown(unlearned, result));
    }

    public static string PathMarkdown(string unlearned, PathResult r)
    {
        var sb = new StringBuilder($"## The path from θ_b to `{unlearned}`\n\n‖θ_out − θ_b‖ = {r.Distance:G4}, " +
            $"cos(θ_out − θ_b, τ) = {(r.TauCosine is double c ? c.ToString("F3") : "– (no τ)")}, clean-loss barrier {r.Barrier:G3}. " +
            "Validation split, θ_t = θ_b + t·(θ_out − θ_b).\n\n| t | clean loss | CA | ASR | target-class CA |\n|---|---|---|---|---|\n");
        foreach (var p in r.Points)
            sb.Append($"| {p.T:F1} | {p.CleanLoss:F4} | {p.Validation.CleanAccuracy.Value:P2} | {p.Validation.AttackSuccess.Value:P2} | " +
                $"{(p.Validation.TargetClass is { } tc ? tc.Value.ToString("P2") : "-")} |\n");
        return sb.Append("\n![path](path.png)\n").ToString();
    }

    static string WriteSection(string dir, string markdown)
    {
        AtomicFile.WriteText(Path.Combine(dir, Section), markdown);
        return markdown;
    }
}
