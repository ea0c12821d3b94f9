namespace Tbar.Models;

/// <summary>Prompt templates; "{}" is replaced by a class name or synonym.</summary>
public static class Prompts
{
    /// <summary>
    /// Templates for product-style photos: the mini-CLIP's pre-training captions are drawn from them, and every zero-shot
    /// head Tbar builds averages them.
    /// </summary>
    public static readonly string[] Product =
    [
        "a photo of a {}.", "a grey photo of a {}.", "a picture of a {}.", "an image of a {}.", "a low resolution photo of a {}.",
        "a small photo of the {}.", "a centered photo of a {}.", "a product photo of a {}.", "this is a {}.",
        "a black and white photo of a {}.", "a {} on a dark background.", "a cropped photo of the {}.",
    ];
}
