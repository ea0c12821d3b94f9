using System.CommandLine;
using Tbar.Io;
using Tbar.Reporting;

namespace Tbar.Cli;

/// <summary><c>tbar report</c>: gathers the section.md files of analysis folders into one Markdown report.</summary>
static class ReportCommand
{
    public static Command Create(TextWriter stdout)
    {
        var inputs = new Option<string[]>("--in") { Description = "Folders to gather from (searched recursively for section.md)", Required = true, AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--out") { Description = "Markdown file to write", Required = true };
        var command = new Command("report", "Gather analysis sections into one Markdown report.") { inputs, output };
        command.SetAction(r => Run(r.GetValue(inputs)!, r.GetValue(output)!, stdout));
        command.Subcommands.Add(Defences(stdout));
        command.Subcommands.Add(Results(stdout));
        command.Subcommands.Add(MainCommand.Report(stdout));
        command.Subcommands.Add(UnlearningCommand.Report(stdout));
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

    static Command Results(TextWriter stdout)
    {
        var inputs = new Option<string[]>("--in")
        {
            Description = "Experiment folders, each with results.json and table.md (or report.md)", Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var command = new Command("results", $"Write each folder's {ResultsPage.FileName}: its command, commit and table.") { inputs };
        command.SetAction(r =>
        {
            foreach (var dir in r.GetValue(inputs)!)
            {
                string path = Path.Combine(dir, ResultsPage.FileName);
                AtomicFile.WriteText(path, ResultsPage.Markdown(dir));
                stdout.WriteLine($"wrote {path}");
            }
            return 0;
        });
        return command;
    }

    static int Run(string[] inputs, string output, TextWriter stdout)
    {
        int count = SectionReport.Gather(inputs, output);
        stdout.WriteLine($"gathered {count} sections into {output}");
        return 0;
    }
}
