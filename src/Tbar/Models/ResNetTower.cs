using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Tbar.Models;

/// <summary>
/// ResNet image tower (<see cref="ResNetConfig"/>): stem conv-BN-ReLU, max-pool, stages of basic blocks, global average
/// pool, @ proj. BatchNorm always uses its stored statistics (see <see cref="FrozenBatchNorm"/>).
/// </summary>
public sealed class ResNetTower : ImageTower
{
    readonly ResNetConfig config;
    readonly ConvBn stem;
    readonly List<BasicBlock> blocks = [];
    readonly Parameter proj;

    public ResNetTower(ResNetConfig c, int embedDim) : base("visual")
    {
        config = c;
        // CNTK's stem pads 3 before and 2 after (left, right, top, bottom).
        stem = new ConvBn(3, c.Widths[0], 7, 2, [3, 2, 3, 2], c.BatchNormEps);
        register_module("stem", stem);
        int inWidth = c.Widths[0];
        for (int s = 0; s < c.Blocks.Count; s++)
        {
            var stage = new ModuleList<BasicBlock>();
            for (int b = 0; b < c.Blocks[s]; b++)
            {
                var block = new BasicBlock(inWidth, c.Widths[s], c.HasShortcut(s, b), c.BatchNormEps);
                stage.Add(block);
                blocks.Add(block);
                inWidth = c.Widths[s];
            }
            register_module($"layer{s + 1}", stage);
        }
        proj = new Parameter(zeros(c.FeatureWidth, embedDim));
        register_parameter("proj", proj);
    }

    public override ImageTowerConfig Shape => config;

    /// <summary>(B, 3, H, W) normalised images (resized to the working side when H, W differ) → (B, embed).</summary>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        return Readout(Features(images)).MoveToOuterDisposeScope();
    }

    /// <summary>The pooled features (<see cref="Features"/>).</summary>
    public override Tensor Trunk(Tensor images) => Features(images);

    /// <summary>@ proj.</summary>
    public override Tensor Readout(Tensor trunk) => trunk.matmul(proj);

    public override IReadOnlyCollection<string> ReadoutParameters { get; } = ["proj"];

    /// <summary>(B, 3, H, W) normalised images → (B, FeatureWidth) pooled features (the ONNX network's output).</summary>
    public Tensor Features(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = Resize(images);
        x = F.relu(stem.forward(x));
        // CNTK's max-pool pads one row/column before only; -inf padding never wins the max.
        x = F.max_pool2d(F.pad(x, [1, 0, 1, 0], value: double.NegativeInfinity), 3, 2);
        foreach (var block in blocks) x = block.forward(x);
        return x.mean([2, 3]).MoveToOuterDisposeScope();                                // (B, C)
    }

    /// <summary>
    /// Re-estimates every BatchNorm's statistics from batches of normalised images: each layer normalises with its batch
    /// statistics during the pass, and the stored ones become the average over batches (PyTorch's momentum=None rule).
    /// A measurement aid (see the README's BatchNorm section); the tower itself never updates its statistics.
    /// </summary>
    public void RecalibrateBatchNorm(IEnumerable<Tensor> batches)
    {
        using var guard = no_grad();
        var norms = modules().OfType<FrozenBatchNorm>().ToList();
        foreach (var n in norms) n.StartCalibration();
        int count = 0;
        foreach (var batch in batches)
        {
            using var scope = NewDisposeScope();
            Features(batch);
            count++;
        }
        foreach (var n in norms) n.FinishCalibration(count);
    }

    Tensor Resize(Tensor images)
    {
        int s = config.ImageSize;
        if (images.shape[2] == s && images.shape[3] == s) return images.alias();
        return F.interpolate(images, [s, s], mode: InterpolationMode.Bilinear, align_corners: false);
    }
}

/// <summary>Two 3×3 conv-BN layers with a ReLU between, added to the input (or its 1×1 stride-2 projection), then ReLU.</summary>
sealed class BasicBlock : nn.Module<Tensor, Tensor>
{
    readonly ConvBn conv1, conv2;
    readonly ConvBn? shortcut;

    public BasicBlock(int inWidth, int outWidth, bool downsample, double eps) : base("block")
    {
        // A stride-2 3×3 conv pads one before and none after, as CNTK exported it.
        conv1 = new ConvBn(inWidth, outWidth, 3, downsample ? 2 : 1, downsample ? [1, 0, 1, 0] : [1, 1, 1, 1], eps);
        conv2 = new ConvBn(outWidth, outWidth, 3, 1, [1, 1, 1, 1], eps);
        register_module("conv1", conv1);
        register_module("conv2", conv2);
        if (downsample)
        {
            shortcut = new ConvBn(inWidth, outWidth, 1, 2, [0, 0, 0, 0], eps);
            register_module("shortcut", shortcut);
        }
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var main = conv2.forward(F.relu(conv1.forward(x)));
        var skip = shortcut != null ? shortcut.forward(x) : x;
        return F.relu(main + skip).MoveToOuterDisposeScope();
    }
}

/// <summary>Unpadded bias-free conv after an explicit (left, right, top, bottom) zero pad, then BatchNorm.</summary>
sealed class ConvBn : nn.Module<Tensor, Tensor>
{
    readonly long[] pad;
    readonly Conv2d conv;
    readonly FrozenBatchNorm bn;

    public ConvBn(int inWidth, int outWidth, int kernel, int stride, long[] pad, double eps) : base("convbn")
    {
        this.pad = pad;
        conv = nn.Conv2d(inWidth, outWidth, kernel, stride: stride, bias: false);
        bn = new FrozenBatchNorm(outWidth, eps);
        register_module("conv", conv);
        register_module("bn", bn);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var padded = pad.All(p => p == 0) ? x : F.pad(x, pad);
        return bn.forward(conv.forward(padded)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// BatchNorm that always normalises with its stored running statistics, in training too: the statistics are buffers
/// (saved, never updated), scale and shift are parameters (fine-tuned, part of task vectors). With
/// <c>countsBatches</c> it also holds PyTorch's I64 <c>num_batches_tracked</c> buffer, so a PyTorch checkpoint's norm
/// loads and saves whole.
/// </summary>
sealed class FrozenBatchNorm : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight, bias;
    readonly Tensor runningMean, runningVar;
    readonly double eps;

    public FrozenBatchNorm(int width, double eps, bool countsBatches = false) : base("bn")
    {
        this.eps = eps;
        weight = new Parameter(ones(width));
        bias = new Parameter(zeros(width));
        runningMean = zeros(width);
        runningVar = ones(width);
        register_parameter("weight", weight);
        register_parameter("bias", bias);
        register_buffer("running_mean", runningMean);
        register_buffer("running_var", runningVar);
        if (countsBatches) register_buffer("num_batches_tracked", tensor(0L));
    }

    Tensor? meanSum, varSum;

    public override Tensor forward(Tensor x)
    {
        if (meanSum is null || varSum is null) return F.batch_norm(x, runningMean, runningVar, weight, bias, training: false, eps: eps);
        using var scope = NewDisposeScope();
        var mean = x.mean([0, 2, 3]);
        var biased = x.var([0, 2, 3], unbiased: false);
        long n = x.numel() / x.shape[1];
        InPlace.Add(meanSum, mean);
        using TorchSharp.Scalar unbias = (double)n / Math.Max(1, n - 1);
        InPlace.Add(varSum, biased.mul(unbias));
        return F.batch_norm(x, mean, biased, weight, bias, training: false, eps: eps).MoveToOuterDisposeScope();
    }

    internal void StartCalibration()
    {
        meanSum = zeros_like(runningMean);
        varSum = zeros_like(runningVar);
    }

    internal void FinishCalibration(int batches)
    {
        runningMean.copy_(meanSum! / Math.Max(1, batches));
        runningVar.copy_(varSum! / Math.Max(1, batches));
        meanSum!.Dispose();
        varSum!.Dispose();
        (meanSum, varSum) = (null, null);
    }
}
