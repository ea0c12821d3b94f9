using System.CommandLine;
using Tbar.Pipelines;
using Tbar.Models;
using Tbar.Reporting;

namespace Tbar.Cli;

/// <summary><c>tbar embed</c>: token ids and projected embeddings (before normalisation) as JSON.</summary>
static class EmbedCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Option<string>("--model") { Description = "Model folder or .safetensors file", Required = true };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Folder with vocab.json + merges.txt (needed for open_clip folders)" };
        var images = new Option<string[]>("--image") { Description = "Image file (repeatable)", AllowMultipleArgumentsPerToken = false };
        var texts = new Option<string[]>("--text") { Description = "Text (repeatable)" };
        var output = new Option<string>("--out") { Description = "Output JSON file", Required = true };
        var command = new Command("embed", "Write token ids and image/text embeddings to JSON.") { model, tokenizer, images, texts, output };
        command.SetAction(r => Run(ModelFlag.Resolve(r.GetValue(model)!, stdout), r.GetValue(tokenizer), r.GetValue(images) ?? [],
            r.GetValue(texts) ?? [],
            r.GetValue(output)!, stdout));
        return command;
    }

    static int Run(string modelPath, string? tokenizerDir, string[] images, string[] texts, string outPath, TextWriter stdout)
    {
        if (images.Length == 0 && texts.Length == 0) throw new TbarException("give at least one --image or --text");
        using var clip = Workbench.LoadModel(modelPath);
        var tokenizer = texts.Length > 0 ? Workbench.Tokenizer(clip, tokenizerDir) : null;
        EmbedRecord.From(modelPath, images, texts, Embeddings.Compute(clip, tokenizer, images, texts)).Save(outPath);
        stdout.WriteLine($"wrote {outPath}: {images.Length} image(s), {texts.Length} text(s)");
        return 0;
    }
}
