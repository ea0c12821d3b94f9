using Tbar.Attacks;
using Tbar.Evaluation;
using Tbar.Inversion;
using Tbar.Pipelines;
using Tbar.Training;
using Tbar.Unlearning;
using static TorchSharp.torch;

namespace Tbar.Tests.Reporting;

/// <summary>Hand-made results (three classes, target 2) for the renderer tests: every number is chosen, none is measured.</summary>
static class Samples
{
    public const int Target = 2;

    /// <summary>CA hits per class out of 10 each; ASR and BD-ACC out of 20.</summary>
    public static AttackMetrics Metrics(int[] perClass, int? asrHits = null, int? bdHits = null) => new(
        new Rate(perClass.Sum(), 10 * perClass.Length),
        asrHits is int a ? new Rate(a, 20) : null,
        bdHits is int b ? new Rate(b, 20) : null,
        [.. perClass.Select(h => new Rate(h, 10))]);

    public static AlphaChoice Alpha(double alpha) => new(alpha, true, $"α = {alpha}: rule met",
        new AlphaPoint(alpha, new Rate(8, 10), new Rate(0, 10)),
        [new AlphaPoint(0, new Rate(9, 10), new Rate(9, 10), new Rate(10, 10)), new AlphaPoint(alpha, new Rate(8, 10), new Rate(0, 10), null)]);

    public static UnlearnResult Unlearned(string method, double? alpha) =>
        new(method, alpha is double a ? Alpha(a) : null, alpha == null ? "lr 1e-5" : $"α = {alpha}", new AlphaPoint(alpha ?? 0, new Rate(8, 10),
            new Rate(1, 10)), null, 1.5, alpha == null ? new { lrs = new[] { 1e-5 } } : null);

    public static AttackOutcome Attack() => new("badnet:size=3", Target, "Dress", new PoisonPlan([1, 5, 7], Target, 0.1, 0), 30,
        Metrics([9, 8, 10], 19, 1), new TrainResult(12, 360, 0.25, 4.5), Triggers.Parse("badnet:size=3"), null);

    /// <summary>A demo of one seed; <paramref name="shift"/> moves every hit count so that seeds differ.</summary>
    public static DemoResult Demo(int shift) => new(
        Metrics([7 + shift, 6, 8], 2, 15),
        new TestRow("backdoored", Metrics([9, 8 - shift, 10], 19, 1), null, 4.5, "backdoored"),
        new TestRow("clean_reference", Metrics([9, 9, 9], 1, 16), null, 4.0, "clean"),
        [
            new TestRow("tbar", Metrics([9, 8, 7 + shift], shift, 17), 0.5 + shift, 2.0, "α", 0.1 * shift),
            new TestRow("finetune", Metrics([8, 8, 8], 3 + shift, 14), null, 3.0, "lr 1e-5"),
        ],
        new Dictionary<string, UnlearnResult> { ["tbar"] = Unlearned("tbar", 0.5 + shift), ["finetune"] = Unlearned("finetune", null) },
        Attack(), new Dictionary<string, int> { ["forget"] = 100, ["val"] = 200 });

    public static VariantResult Variant(string attack, long seed, string variant, double alpha, double? relapse)
    {
        var test = ClassSplit.Of(Metrics([9, 8, 6 + (int)seed], (int)seed, 17), Target);
        var backdoored = ClassSplit.Of(Metrics([9, 9, 10 - (int)seed], 19, 1), Target);
        return new VariantResult(attack, seed, variant, "plain", alpha, alpha > 0, $"α = {alpha}", test, backdoored, test.Ca / backdoored.Ca,
            test.OthersCa / backdoored.OthersCa, relapse, 3.25, 7.5, []);
    }

    /// <summary>One main-table row; CA per class out of 10 each, as in <see cref="Metrics"/>.</summary>
    public static MainRow MainRow(string attack, long seed, string method, int[] perClass, double? alpha, double? relapse)
    {
        var m = Metrics(perClass);
        double ca = m.CleanAccuracy.Value, others = (perClass[0] + perClass[1]) / 20.0;
        double asr = method == "backdoored" ? 0.95 + 0.01 * seed : 0.01 * (seed + 1);
        return new MainRow("mini-clip", attack, seed, method, ca, asr, perClass[Target] / 10.0, others, ca / 0.9, others / 0.85,
            relapse, relapse == null ? null : new Dictionary<string, double> { ["10"] = 0.25 + seed / 10.0 }, alpha,
            alpha == null ? null : alpha > 0, alpha == null ? "-" : $"α = {alpha}", 5, m.PerClass!, null);
    }

    /// <summary>Two attacks of the main table; sig is unfinished: finetune has seed 0 only.</summary>
    public static List<MainRow> MainRows() =>
    [
        MainRow("badnet", 0, "backdoored", [9, 9, 9], null, null), MainRow("badnet", 0, "tbar", [9, 8, 5], 1.5, 0.5),
        MainRow("badnet", 1, "backdoored", [9, 8, 9], null, null), MainRow("badnet", 1, "tbar", [9, 8, 6], 0, 0.25),
        MainRow("sig", 0, "backdoored", [8, 9, 9], null, null), MainRow("sig", 0, "tbar", [8, 8, 7], 2.25, 0.75),
        MainRow("sig", 0, "finetune", [9, 9, 9], null, 0.5), MainRow("sig", 1, "backdoored", [9, 9, 8], null, null),
        MainRow("sig", 1, "tbar", [8, 7, 7], 2.5, null),
    ];

    public static ScanVerdict Verdict(bool backdoored, double pl1) => new(backdoored, pl1, 0.05, "calibration.json: 0.7 × min", Target, "Dress",
        new Rate(18, 20), new InversionResult(new InvertedTrigger(zeros(1, 4, 4), zeros(3, 4, 4)), true, pl1, 0.85, 0.31, [], 12.5));

    public static AgnosticRow AgnosticRow(long seed, string trigger, bool reallyBackdoored) => new(seed, trigger, reallyBackdoored,
        Verdict(reallyBackdoored, reallyBackdoored ? 0.02 : 0.09), new TestRow("backdoored", Metrics([9, 8, 10], 18, 2), null, 30, "attack"),
        reallyBackdoored
            ? [
                new TestRow("tbar (inverted)", Metrics([9, 8, 9], 1, 17), 0.75, 5, "α = 0.75"),
                new TestRow("tbar (known trigger)", Metrics([9, 9, 9], 0, 18), 0.5, 4, "α"),
            ]
            : []);

    public static ScanCalibration Calibration => new(0.05, "0.7 × smallest clean PL1",
        [new CalibrationModel("pre-trained", 0.08, 0.81), new CalibrationModel("clean fine-tune seed 100", 0.072, 0.8)], "vit-mini");
}
