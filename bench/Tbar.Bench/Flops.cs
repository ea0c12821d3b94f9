using Tbar.Models;

/// <summary>Floating-point operations (2 × multiply-adds) of an image tower's forward pass, per image.</summary>
static class Flops
{
    public static double ImageTowerForward(ClipConfig config) => config.Vision switch
    {
        VisionConfig v => Vit(v, config.EmbedDim),
        ResNetConfig r => ResNet(r, config.EmbedDim),
        _ => double.NaN,
    };

    /// <summary>A train step's FLOPs are taken as 3 × the forward's (backward ≈ 2 × forward).</summary>
    public static double TrainStep(ClipConfig config) => 3 * ImageTowerForward(config);

    /// <summary>Patch conv, per block the q/k/v/out and MLP linears and the two attention matmuls, the projection.</summary>
    static double Vit(VisionConfig c, int embedDim)
    {
        double tokens = c.Grid * c.Grid + 1, w = c.Width;
        double patch = c.Grid * c.Grid * w * 3.0 * c.PatchSize * c.PatchSize;
        double perBlock = tokens * (4 * w * w + 2 * w * c.MlpWidth) + 2 * tokens * tokens * w;
        return 2 * (patch + c.Layers * perBlock + w * embedDim);
    }

    /// <summary>Every convolution (the stem, two 3×3 per block, the 1×1 shortcuts) and the projection; pads as the tower's.</summary>
    static double ResNet(ResNetConfig c, int embedDim)
    {
        double macs = 0;
        long side = c.ImageSize;
        side = Conv(ref macs, side, 3, c.Widths[0], 7, 2, 5);
        side = (side + 1 - 3) / 2 + 1;                                       // max-pool 3/2, one row of padding
        int inWidth = c.Widths[0];
        for (int s = 0; s < c.Blocks.Count; s++)
            for (int b = 0; b < c.Blocks[s]; b++)
            {
                bool down = c.HasShortcut(s, b);
                long outSide = Conv(ref macs, side, inWidth, c.Widths[s], 3, down ? 2 : 1, down ? 1 : 2);
                Conv(ref macs, outSide, c.Widths[s], c.Widths[s], 3, 1, 2);
                if (down) Conv(ref macs, side, inWidth, c.Widths[s], 1, 2, 0);
                (side, inWidth) = (outSide, c.Widths[s]);
            }
        return 2 * (macs + (double)c.FeatureWidth * embedDim);
    }

    /// <summary>Adds a square conv's multiply-adds; <paramref name="pad"/> is the total padding per axis. Returns the output side.</summary>
    static long Conv(ref double macs, long side, int inWidth, int outWidth, int kernel, int stride, int pad)
    {
        long outSide = (side + pad - kernel) / stride + 1;
        macs += (double)outSide * outSide * outWidth * inWidth * kernel * kernel;
        return outSide;
    }
}
