using Tbar.Attacks;
using Tbar.Data;
using Tbar.Inversion;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Tbar.Tests.Inversion;

/// <summary>
/// The warp inversion on toy towers whose answer is known: small CNNs trained in the test to tell the orientation of
/// 16×16 stripe images (4 classes), one of them also taught that WaNet-warped images are class 0.
/// </summary>
public class WarpInversionTests : TempFolder
{
    const int Side = 16, Classes = 4;

    /// <summary>Stripes at 0°, 45°, 90° or 135°, period 6–10 px, random phase; class = orientation. Bytes (N, 1, 16, 16).</summary>
    static ImageDataset Stripes(int count, long seed)
    {
        using var scope = NewDisposeScope();
        var g = new Generator((ulong)seed);
        var labels = randint(0, Classes, [count], generator: g);
        var angle = labels.to(ScalarType.Float32) * (MathF.PI / Classes);
        var period = rand([count], generator: g) * 4 + 6;
        var phase = rand([count], generator: g) * 2 * MathF.PI;
        var coords = arange(Side, dtype: ScalarType.Float32);
        var ys = coords.view(1, Side, 1);
        var xs = coords.view(1, 1, Side);
        var along = xs * angle.cos().view(-1, 1, 1) + ys * angle.sin().view(-1, 1, 1);
        var wave = (along * (2 * MathF.PI) / period.view(-1, 1, 1) + phase.view(-1, 1, 1)).sin() * 0.5f + 0.5f;
        var bytes = wave.mul(255).round().to(ScalarType.Byte).unsqueeze(1).MoveToOuterDisposeScope();
        return new ImageDataset(bytes, labels.data<long>().ToArray(), ["0°", "45°", "90°", "135°"], $"stripes seed {seed}");
    }

    /// <summary>
    /// A toy image tower: two convolutions, global pooling, a linear map to the 4 class scores. The scores are the embedding
    /// the inversions see, as a CLIP's zero-shot logits are a linear map of its embedding.
    /// </summary>
    sealed class Toy : nn.Module<Tensor, Tensor>
    {
        readonly nn.Module<Tensor, Tensor> tower;

        public Toy(long seed) : base("toy")
        {
            manual_seed(seed);
            tower = nn.Sequential(nn.Conv2d(3, 16, 3, padding: 1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding: 1), nn.ReLU(),
                nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, Classes));
            RegisterComponents();
        }

        /// <summary>
        /// The class scores less their mean: a linear head's bias adds one offset to every image's scores, which would make
        /// any two images' scores point alike (as a CLIP's embeddings, which carry no such offset, do not).
        /// </summary>
        public PixelEncoder Encoder => new(x =>
        {
            using var scores = tower.call(x);
            return scores - scores.mean([1], keepdim: true);
        }, this);

        public override Tensor forward(Tensor x) => tower.call(x);
    }

    /// <summary>Trains a toy tower; with a trigger, a tenth of each batch is warped and labelled class 0.</summary>
    static Toy Train(ImageDataset data, long seed, ITrigger? trigger)
    {
        var model = new Toy(seed);
        var optimizer = optim.Adam(model.parameters(), 0.01);
        var rng = new Random((int)seed);
        model.train();
        for (int step = 0; step < 200; step++)
        {
            using var scope = NewDisposeScope();
            var batch = Enumerable.Range(0, 64).Select(_ => (long)rng.Next(data.Count)).ToArray();
            var images = data.Images(batch);
            var labels = data.LabelTensor(batch);
            if (trigger != null)
            {
                images = cat([trigger.Apply(images[..6]), images[6..]], 0);
                labels = cat([zeros(6, dtype: ScalarType.Int64), labels[6..]], 0);
            }
            var loss = F.cross_entropy(model.call(images), labels);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
        }
        model.eval();
        return model;
    }

    static (double Pl1, double Warp) Scores(Toy model, ImageDataset data, WarpOptions warp)
    {
        long[] train = [.. Enumerable.Range(0, 250).Select(i => (long)i)], heldOut = [.. Enumerable.Range(250, 150).Select(i => (long)i)];
        var decree = Decree.Invert(model.Encoder, data, train, heldOut, new InversionOptions(Steps: 100, BatchSize: 32));
        var found = WarpInversion.Invert(model.Encoder, data, train, heldOut, warp);
        decree.Trigger.Dispose();
        found.Trigger.Dispose();
        return (decree.Pl1, found.Similarity);
    }

    // The planted warp shifts ≈ 2 px on average; the budget is the library's pure warp, scaled to the 16-px image.
    static readonly WarpOptions ToyWarp = new(Steps: 80, BatchSize: 32, MaxShift: 2);

    /// <summary>
    /// The issue's test: the warp score separates a warp backdoor from clean towers trained alongside it, DECREE's PL1 does
    /// not by the shipped rule (0.7 × the smallest clean PL1); with the warp replaced by the identity (a budget of 10⁻⁶ px) the
    /// same comparison fails, so the separation is the inversion's.
    /// </summary>
    // Four toy trainings and eight inversions: 13 min when the 2 cores were shared by ~25 runnable threads.
    [Fact, Trait("Category", "Slow")]
    public void AWarpBackdoorIsSeparatedFromCleanTowersByTheWarpScoreButNotByDecrees()
    {
        using var data = Stripes(1500, 1);
        var planted = new WaNet(TriggerSpec.Parse("wanet:k=4,s=4,seed=3"));
        using var backdoored = Train(data, 10, planted);
        var clean = new[] { 11L, 12L, 13L }.Select(s => Train(data, s, null)).ToList();
        using var scan = Stripes(400, 2);
        var bad = Scores(backdoored, scan, ToyWarp);
        var good = clean.Select(m => Scores(m, scan, ToyWarp)).ToList();
        var identity = ToyWarp with { MaxShift = 1e-6, Steps = 1 };
        double badIdentity = Scores(backdoored, scan, identity).Warp, goodIdentity = clean.Max(m => Scores(m, scan, identity).Warp);
        clean.ForEach(m => m.Dispose());
        string seen = $"backdoored PL1 {bad.Pl1:P1} warp {bad.Warp:F3}; clean {string.Join(", ", good.Select(g => $"PL1 {g.Pl1:P1} warp {g.Warp:F3}"))}";
        Assert.True(bad.Warp > good.Max(g => g.Warp) + 0.1, $"the warp score does not separate: {seen}");
        Assert.False(bad.Pl1 < 0.7 * good.Min(g => g.Pl1), $"DECREE separates this toy too, so it shows nothing: {seen}");
        Assert.False(badIdentity > goodIdentity + 0.1,
            $"the identity warp separates too ({badIdentity:F3} against {goodIdentity:F3}), so the test shows nothing: {seen}");
    }
}
