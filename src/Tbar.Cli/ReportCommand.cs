using System.CommandLine;
using System.Text;
using System.Text.RegularExpressions;
using Tbar.Io;
using Tbar.Reporting;

namespace Tbar.Cli;

/// <summary><c>tbar report</c>: gathers the section.md files of analysis folders into one Markdown report.</summary>
static partial class ReportCommand
{
    public static Command Create(TextWriter stdout)
    {
        var inputs = new Option<string[]>("--in") { Description = "Folders to gather from (searched recursively for section.md)", Required = true, AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--out") { Description = "Markdown file to write", Required = true };
        var command = new Command("report", "Gather analysis sections into one Markdown report.") { inputs, output };
        command.SetAction(r => Run(r.GetValue(inputs)!, r.GetValue(output)!, stdout));
        command.Subcommands.Add(Defences(stdout));
        return command;
    }

    static Command Defences(TextWriter stdout)
    {
        var input = new Option<string>("--in")
        {
            Description = "Folder with backdoored.json, M.json and unlearn-M.json per method", Required = true,
        };
        var methods = new Option<string[]>("--methods")
        {
            Description = "Methods, in table order", Required = true, AllowMultipleArgumentsPerToken = true,
        };
        var label = new Option<string>("--label") { Description = "Name of the backdoored model's row", DefaultValueFactory = _ => "backdoored" };
        var output = new Option<string>("--out") { Description = "Markdown file to write", Required = true };
        var command = new Command("defences", "Table of one backdoored model against the methods that cleaned it.") { input, methods, label, output };
        command.SetAction(r =>
        {
            string table = DefenceTable.Markdown(r.GetValue(input)!, r.GetValue(label)!, r.GetValue(methods)!);
            AtomicFile.WriteText(r.GetValue(output)!, table);
            stdout.Write(table);
            return 0;
        });
        return command;
    }

    static int Run(string[] inputs, string output, TextWriter stdout)
    {
        var sections = new List<string>();
        foreach (var dir in inputs)
        {
            if (!Directory.Exists(dir)) throw new TbarException($"{dir}: no such folder");
            sections.AddRange(Directory.EnumerateFiles(dir, "section.md", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
        }
        if (sections.Count == 0) throw new TbarException($"no section.md under {string.Join(", ", inputs)} (written by `tbar analyze ...`)");
        string outDir = Path.GetDirectoryName(Path.GetFullPath(output))!;
        var sb = new StringBuilder("# Tbar analysis report\n\n");
        foreach (var file in sections)
        {
            string from = Path.GetDirectoryName(Path.GetFullPath(file))!;
            // Image links are relative to their section; make them relative to the report.
            string text = ImageLink().Replace(File.ReadAllText(file), m =>
                $"]({Path.GetRelativePath(outDir, Path.Combine(from, m.Groups[1].Value)).Replace('\\', '/')})");
            sb.Append(text.TrimEnd()).Append($"\n\n_Source: `{Path.GetRelativePath(outDir, file).Replace('\\', '/')}`_\n\n");
        }
        Directory.CreateDirectory(outDir);
        AtomicFile.WriteText(output, sb.ToString());
        stdout.WriteLine($"gathered {sections.Count} sections into {output}");
        return 0;
    }

    [GeneratedRegex(@"\]\(([^)/:][^):]*\.png)\)")]
    private static partial Regex ImageLink();
}
