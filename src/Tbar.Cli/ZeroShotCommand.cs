using System.CommandLine;
using Spectre.Console;
using Tbar.Data;
using Tbar.Models;
using static TorchSharp.torch;

namespace Tbar.Cli;

/// <summary><c>tbar zeroshot</c>: classify a folder of images against class names.</summary>
static class ZeroShotCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Option<string>("--model") { Description = "Model folder or .safetensors file", Required = true };
        var images = new Option<string>("--images") { Description = "Folder of images (searched recursively)", Required = true };
        var classes = new Option<string>("--classes") { Description = "Comma-separated class names", Required = true };
        var templates = new Option<string?>("--templates") { Description = "File with one prompt template per line, '{}' = class name" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Folder with vocab.json + merges.txt" };
        var json = new Option<string?>("--json") { Description = "Also write predictions to this JSON file" };
        var command = new Command("zeroshot", "Zero-shot classify images.") { model, images, classes, templates, tokenizer, json };
        command.SetAction(r => Run(r.GetValue(model)!, r.GetValue(images)!, r.GetValue(classes)!, r.GetValue(templates),
            r.GetValue(tokenizer), r.GetValue(json), stdout));
        return command;
    }

    static int Run(string modelPath, string imageDir, string classList, string? templateFile, string? tokenizerDir, string? json, TextWriter stdout)
    {
        var names = classList.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var files = ImageFiles(imageDir);
        using var clip = ClipCheckpoint.Load(modelPath);
        using var head = ZeroShotHead.Build(clip, Tokenizers.For(clip, tokenizerDir), names, Templates(templateFile));
        using var scope = NewDisposeScope();
        using var guard = no_grad();
        var probs = head.Logits(Embeddings.EncodeImageFiles(clip, files, 32)).softmax(1);
        var (best, index) = probs.max(1);
        var rows = files.Select((f, i) => new { file = f, @class = names[index[i].item<long>()], probability = best[i].item<float>() }).ToList();
        var table = new Table().AddColumns("image", "class", "p");
        foreach (var r in rows) table.AddRow(Markup.Escape(Path.GetRelativePath(imageDir, r.file)), Markup.Escape(r.@class), r.probability.ToString("F3"));
        Output.Console(stdout).Write(table);
        if (json != null) Output.WriteJson(json, new { model = modelPath, classes = names, predictions = rows });
        return 0;
    }

    static List<string> ImageFiles(string dir)
    {
        if (!Directory.Exists(dir)) throw new TbarException($"{dir}: no such folder");
        var files = ImageFolder.Images(dir).ToList();
        if (files.Count == 0) throw new TbarException($"{dir}: no images ({string.Join(", ", ImageFolder.Suffixes)})");
        return files;
    }

    static string[]? Templates(string? path)
    {
        if (path == null) return null;
        if (!File.Exists(path)) throw new TbarException($"{path}: templates file not found");
        return File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();
    }
}
