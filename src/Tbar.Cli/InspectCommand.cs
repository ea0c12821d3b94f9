using System.CommandLine;
using Spectre.Console;
using Tbar.Pipelines;
using Tbar.Models;

namespace Tbar.Cli;

/// <summary><c>tbar inspect --model PATH</c>: layout, architecture, parameter count, dtypes.</summary>
static class InspectCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Option<string>("--model") { Description = "Model folder or .safetensors file", Required = true };
        var command = new Command("inspect", "Show a checkpoint's layout, architecture and size.") { model };
        command.SetAction(r => Run(ModelFlag.Resolve(r.GetValue(model)!, stdout), stdout));
        return command;
    }

    static int Run(string path, TextWriter stdout)
    {
        using var clip = Workbench.LoadModel(path, out var report);
        var c = clip.Config;
        var table = new Table().AddColumns("field", "value");
        table.AddRow("layout", report.Layout.ToString());
        table.AddRow("weights", Markup.Escape(report.WeightsPath));
        table.AddRow("vision", c.Vision is VisionConfig v
            ? $"ViT {v.ImageSize}px/{v.PatchSize}, width {v.Width}, {v.Layers} layers, {v.Heads} heads, mlp {v.MlpWidth}, {v.Act}"
            : c.Vision.Summary);
        table.AddRow("text", $"ctx {c.Text.ContextLength}, vocab {c.Text.VocabSize}, width {c.Text.Width}, {c.Text.Layers} layers, {c.Text.Heads} heads, mlp {c.Text.MlpWidth}, {c.Text.Act}, pool {c.Text.Pooling}");
        table.AddRow("embed dim", c.EmbedDim.ToString());
        table.AddRow("parameters", $"{clip.ParameterCount():N0} (image tower {clip.Visual.parameters().Sum(p => p.numel()):N0})");
        table.AddRow("stored dtypes", string.Join(", ", clip.Origin!.StoredDTypes.Values.GroupBy(d => d).Select(g => $"{g.Key}×{g.Count()}")));
        table.AddRow("ignored keys", report.IgnoredKeys.Count == 0 ? "none" : Markup.Escape(string.Join(", ", report.IgnoredKeys)));
        Output.Console(stdout).Write(table);
        return 0;
    }
}
