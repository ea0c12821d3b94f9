using System.CommandLine;
using Spectre.Console;
using Tbar.Pipelines;
using Tbar.Data;
using Tbar.Models;
using Tbar.Reporting;

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
        command.SetAction(r => Run(ModelFlag.Resolve(r.GetValue(model)!, stdout), r.GetValue(images)!, r.GetValue(classes)!, r.GetValue(templates),
            r.GetValue(tokenizer), r.GetValue(json), stdout));
        return command;
    }

    static int Run(string modelPath, string imageDir, string classList, string? templateFile, string? tokenizerDir, string? json, TextWriter stdout)
    {
        var names = classList.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var files = ImageFiles(imageDir);
        using var clip = Workbench.LoadModel(modelPath);
        using var head = Workbench.HeadFor(clip, tokenizerDir, names, Templates(templateFile));
        var rows = ZeroShotPredictions.Classify(clip, head, files);
        var table = new Table().AddColumns("image", "class", "p");
        foreach (var r in rows) table.AddRow(Markup.Escape(Path.GetRelativePath(imageDir, r.File)), Markup.Escape(r.Class), r.Probability.ToString("F3"));
        Output.Console(stdout).Write(table);
        if (json != null) new ZeroShotRecord(modelPath, names, rows).Save(json);
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
