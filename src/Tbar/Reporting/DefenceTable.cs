using System.Globalization;
using System.Text;
using Tbar.Evaluation;
using Tbar.Io;
using Tbar.Unlearning;

namespace Tbar.Reporting;

/// <summary>
/// The table of one backdoored model against the methods that cleaned it, from a folder holding
/// <c>backdoored.json</c> and, per method M, <c>M.json</c> (both `tbar eval --json`) and <c>unlearn-M.json</c>
/// (`tbar unlearn`'s report.json): test CA, test ASR, retention, and the choice made on validation.
/// </summary>
public static class DefenceTable
{
    public static string Markdown(string dir, string baselineLabel, IReadOnlyList<string> methods)
    {
        var baseline = EvalRecord.Load(Path.Combine(dir, "backdoored.json")).Metrics;
        var sb = new StringBuilder("| model | test CA | test ASR | retention | choice (validation) |\n|---|---|---|---|---|\n");
        sb.Append($"| {baselineLabel} | {Percent(baseline.Ca, 2)} | {Percent(baseline.Asr, 2)} | - | - |\n");
        foreach (var m in methods)
        {
            var test = EvalRecord.Load(Path.Combine(dir, $"{m}.json")).Metrics;
            var unlearn = StoredRun<UnlearnSettings, UnlearnSummary>.Load(Path.Combine(dir, $"unlearn-{m}.json"), "tbar unlearn").Results;
            sb.Append($"| {m} | {Percent(test.Ca, 2)} | {Percent(test.Asr, 2)} | {Percent(test.Ca / baseline.Ca, 1)} | {unlearn.Choice} |\n");
        }
        return sb.ToString();
    }

    // "87.63%": no space before the sign, as the committed tables have it.
    static string Percent(double? value, int decimals) =>
        value is double v ? (v * 100).ToString("F" + decimals, CultureInfo.InvariantCulture) + "%" : "-";
}
