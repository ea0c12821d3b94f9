using static TorchSharp.torch;

namespace Tbar.Models;

/// <summary>A checkpoint's file layout and key naming.</summary>
public enum CheckpointLayout
{
    /// <summary>Hugging Face transformers: config.json + model.safetensors, keys vision_model.*, text_model.*.</summary>
    HuggingFace,
    /// <summary>open_clip: open_clip_config.json + open_clip_model.safetensors, keys visual.*, transformer.*.</summary>
    OpenClip,
    /// <summary>Tbar's own: tbar_config.json + tbar_model.safetensors, keys = internal names; any image tower (rn18-clip).</summary>
    Tbar,
}

/// <summary>How stored tensors become one internal parameter.</summary>
public enum KeyTransform
{
    /// <summary>One tensor, same shape.</summary>
    Same,
    /// <summary>One 2-d tensor stored transposed (HF's Linear weight for open_clip's x @ proj).</summary>
    Transpose,
    /// <summary>q, k, v stored apart, fused along dim 0 internally.</summary>
    ConcatRows,
}

/// <summary>One internal parameter and the stored key(s) it comes from.</summary>
public sealed record KeyRule(string Internal, string[] External, KeyTransform Transform)
{
    /// <summary>Stored tensors → the internal tensor (a new tensor; exact, no arithmetic).</summary>
    public Tensor ToInternal(IReadOnlyList<Tensor> stored) => Transform switch
    {
        KeyTransform.Same => stored[0].alias(),
        KeyTransform.Transpose => stored[0].t().contiguous(),
        _ => cat(stored.ToArray(), 0),
    };

    /// <summary>The internal tensor → stored tensors, in <see cref="External"/> order (exact inverse of <see cref="ToInternal"/>).</summary>
    public Tensor[] ToExternal(Tensor value) => Transform switch
    {
        KeyTransform.Same => [value.alias()],
        KeyTransform.Transpose => [value.t().contiguous()],
        _ => value.chunk(External.Length, 0).Select(t => t.contiguous()).ToArray(),
    };

    /// <summary>The stored shape expected for external key <paramref name="index"/> given the internal shape.</summary>
    public long[] ExternalShape(long[] internalShape, int index) => Transform switch
    {
        KeyTransform.Same => internalShape,
        KeyTransform.Transpose => internalShape.Reverse().ToArray(),
        _ => [internalShape[0] / External.Length, .. internalShape.Skip(1)],
    };
}

/// <summary>The explicit key map of each layout: every internal parameter and where it is stored.</summary>
public static class Layouts
{
    /// <summary>All rules for <paramref name="layout"/> and an architecture of <paramref name="c"/>'s depth.</summary>
    public static IReadOnlyList<KeyRule> Rules(CheckpointLayout layout, ClipConfig c) =>
        layout == CheckpointLayout.HuggingFace ? HuggingFaceRules(c) : IdentityRules(c);

    // open_clip and Tbar's own layout store every tensor under its internal name.
    static List<KeyRule> IdentityRules(ClipConfig c) =>
        InternalNames(c).Select(n => new KeyRule(n, [n], KeyTransform.Same)).ToList();

    /// <summary>Internal parameter names in a fixed order (same as <see cref="Clip"/> registers them).</summary>
    public static IEnumerable<string> InternalNames(ClipConfig c)
    {
        foreach (var n in c.Vision.TensorNames()) yield return "visual." + n;
        yield return "token_embedding.weight";
        yield return "positional_embedding";
        foreach (var n in BlockNames("transformer", c.Text.Layers)) yield return n;
        foreach (var n in new[] { "ln_final.weight", "ln_final.bias", "text_projection", "logit_scale" }) yield return n;
    }

    /// <summary>The tensor names of <paramref name="layers"/> transformer blocks under <paramref name="prefix"/>.</summary>
    public static IEnumerable<string> BlockNames(string prefix, int layers)
    {
        string[] names = ["ln_1.weight", "ln_1.bias", "attn.in_proj_weight", "attn.in_proj_bias", "attn.out_proj.weight",
            "attn.out_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"];
        for (int i = 0; i < layers; i++)
            foreach (var n in names) yield return $"{prefix}.resblocks.{i}.{n}";
    }

    static List<KeyRule> HuggingFaceRules(ClipConfig c)
    {
        var vit = c.Vit("the Hugging Face layout");
        var rules = new List<KeyRule>
        {
            Same("visual.conv1.weight", "vision_model.embeddings.patch_embedding.weight"),
            Same("visual.class_embedding", "vision_model.embeddings.class_embedding"),
            Same("visual.positional_embedding", "vision_model.embeddings.position_embedding.weight"),
            Same("visual.ln_pre.weight", "vision_model.pre_layrnorm.weight"),
            Same("visual.ln_pre.bias", "vision_model.pre_layrnorm.bias"),
        };
        rules.AddRange(HfBlocks("visual.transformer", "vision_model.encoder", vit.Layers));
        rules.Add(Same("visual.ln_post.weight", "vision_model.post_layernorm.weight"));
        rules.Add(Same("visual.ln_post.bias", "vision_model.post_layernorm.bias"));
        rules.Add(new KeyRule("visual.proj", ["visual_projection.weight"], KeyTransform.Transpose));
        rules.Add(Same("token_embedding.weight", "text_model.embeddings.token_embedding.weight"));
        rules.Add(Same("positional_embedding", "text_model.embeddings.position_embedding.weight"));
        rules.AddRange(HfBlocks("transformer", "text_model.encoder", c.Text.Layers));
        rules.Add(Same("ln_final.weight", "text_model.final_layer_norm.weight"));
        rules.Add(Same("ln_final.bias", "text_model.final_layer_norm.bias"));
        rules.Add(new KeyRule("text_projection", ["text_projection.weight"], KeyTransform.Transpose));
        rules.Add(Same("logit_scale", "logit_scale"));
        return rules;
    }

    static IEnumerable<KeyRule> HfBlocks(string ours, string theirs, int layers)
    {
        for (int i = 0; i < layers; i++)
        {
            string o = $"{ours}.resblocks.{i}", t = $"{theirs}.layers.{i}";
            foreach (var p in new[] { "weight", "bias" })
            {
                yield return Same($"{o}.ln_1.{p}", $"{t}.layer_norm1.{p}");
                yield return new KeyRule($"{o}.attn.in_proj_{p}",
                    [$"{t}.self_attn.q_proj.{p}", $"{t}.self_attn.k_proj.{p}", $"{t}.self_attn.v_proj.{p}"], KeyTransform.ConcatRows);
                yield return Same($"{o}.attn.out_proj.{p}", $"{t}.self_attn.out_proj.{p}");
                yield return Same($"{o}.ln_2.{p}", $"{t}.layer_norm2.{p}");
                yield return Same($"{o}.mlp.c_fc.{p}", $"{t}.mlp.fc1.{p}");
                yield return Same($"{o}.mlp.c_proj.{p}", $"{t}.mlp.fc2.{p}");
            }
        }
    }

    static KeyRule Same(string ours, string theirs) => new(ours, [theirs], KeyTransform.Same);
}
