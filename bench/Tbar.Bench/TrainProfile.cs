using Tbar.Models;
using Tbar.Training;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

/// <summary>
/// Where a training step's time goes: the step split into its parts (forward, backward, clipping, AdamW), and the
/// forward's operations timed alone at the shapes they see. Milliseconds of the thread's CPU time, medians (run it with one thread).
/// </summary>
static class TrainProfile
{
    public static object Run(BenchModel m, int batch, int iters)
    {
        m.Clip.train();
        var (images, labels) = m.RandomBatch(batch);
        var parameters = m.Clip.Visual.parameters().ToList();
        using var optimizer = optim.AdamW(parameters, 1e-5, weight_decay: 0.1);
        double Ms(Action a) => 1000 * Timing.Median(Timing.CpuRuns(iters, a, warmup: 2));
        Tensor Loss() => FineTune.Loss(m.Clip, m.Head, images, labels);
        var parts = new Dictionary<string, double>
        {
            ["forward_no_grad"] = Ms(() => { using var g = no_grad(); using var s = NewDisposeScope(); m.Clip.EncodeImage(images); }),
            ["forward_loss"] = Ms(() => { using var s = NewDisposeScope(); Loss(); }),
            ["forward_backward"] = Ms(() => { using var s = NewDisposeScope(); optimizer.zero_grad(); Loss().backward(); }),
            ["clip_grad_norm"] = Ms(() => nn.utils.clip_grad_norm_(parameters, 1.0)),
            ["adamw_step"] = Ms(() => { using var s = NewDisposeScope(); optimizer.step(); }),
            ["zero_grad"] = Ms(() => optimizer.zero_grad()),
            ["whole_step"] = Ms(() =>
            {
                using var s = NewDisposeScope();
                optimizer.zero_grad();
                var loss = Loss();
                loss.backward();
                nn.utils.clip_grad_norm_(parameters, 1.0);
                optimizer.step();
                loss.item<float>();
            }),
        };
        m.Clip.eval();
        return new { model = m.Name, batch, parameter_tensors = parameters.Count, step_ms = parts, forward_ops_ms = ForwardOps(m, batch, iters),
            matmul_cpu_gflops = MatmulRates(m, batch, iters) };
    }

    /// <summary>CPU-time GFLOP/s of a 2048² matmul and of the block's linears at this batch (rows = batch × tokens).</summary>
    static Dictionary<string, double> MatmulRates(BenchModel m, int batch, int iters)
    {
        var rates = new Dictionary<string, double>();
        void Rate(string name, long rows, long inner, long cols)
        {
            using var a = randn(rows, inner);
            using var b = randn(inner, cols);
            double s = Timing.Median(Timing.CpuRuns(iters, () => a.matmul(b).Dispose(), warmup: 2));
            rates[name] = 2.0 * rows * inner * cols / s / 1e9;
        }
        Rate("2048x2048x2048", 2048, 2048, 2048);
        if (m.Clip.Config.Vision is VisionConfig c)
        {
            long rows = batch * (c.Grid * c.Grid + 1);
            Rate($"{rows}x{c.Width}x{c.MlpWidth}", rows, c.Width, c.MlpWidth);
            Rate($"{rows}x{c.MlpWidth}x{c.Width}", rows, c.MlpWidth, c.Width);
            Rate($"{rows}x{c.Width}x{3 * c.Width}", rows, c.Width, 3 * c.Width);
            Rate($"{c.MlpWidth}x{rows}x{c.Width} (weight grad)", c.MlpWidth, rows, c.Width);
        }
        return rates;
    }

    /// <summary>A ViT block's operations, each timed alone with autograd recording (as in training), per whole forward (× layers).</summary>
    static Dictionary<string, double> ForwardOps(BenchModel m, int batch, int iters)
    {
        if (m.Clip.Config.Vision is not VisionConfig c) return [];
        long l = c.Grid * c.Grid + 1, w = c.Width, h = c.Heads;
        var gen = new Generator(0);
        var x = randn([batch, l, w], generator: gen).requires_grad_();
        var wIn = randn([3 * w, w], generator: gen).requires_grad_();
        var bIn = zeros(3 * w).requires_grad_();
        var wFc = randn([c.MlpWidth, w], generator: gen).requires_grad_();
        var bFc = zeros(c.MlpWidth).requires_grad_();
        var ln = nn.LayerNorm(w);
        var q = randn([batch, h, l, w / h], generator: gen).requires_grad_();
        var hidden = randn([batch, l, c.MlpWidth], generator: gen).requires_grad_();
        double Ms(Func<Tensor> op) => 1000 * c.Layers * Timing.Median(Timing.CpuRuns(iters, () => { using var s = NewDisposeScope(); op(); }, warmup: 2));
        return new Dictionary<string, double>
        {
            ["layer_norm_x2"] = 2 * Ms(() => ln.forward(x)),
            ["qkv_linear"] = Ms(() => F.linear(x, wIn, bIn)),
            ["qkv_view_permute_select"] = Ms(() => F.linear(x, wIn, bIn).view(batch, l, 3, h, w / h).permute(2, 0, 3, 1, 4)[0]),
            ["sdpa"] = Ms(() => F.scaled_dot_product_attention(q, q, q)),
            ["merge_heads"] = Ms(() => q.transpose(1, 2).reshape(batch, l, w)),
            ["out_linear"] = Ms(() => F.linear(x, wIn.narrow(0, 0, w))),
            ["mlp_fc"] = Ms(() => F.linear(x, wFc, bFc)),
            ["quick_gelu"] = Ms(() => hidden * F.sigmoid(1.702 * hidden)),
            ["mlp_proj"] = Ms(() => hidden.matmul(wFc)),
            ["residual_add_x2"] = 2 * Ms(() => x + x),
        };
    }
}
