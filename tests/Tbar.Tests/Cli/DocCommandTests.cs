using System.CommandLine;
using System.Text.RegularExpressions;
using Tbar.Cli;
using Tbar.Tests.Unlearning;

namespace Tbar.Tests.Cli;

/// <summary>
/// Every `tbar …` command line in a fenced code block of README.md and docs/*.md names commands and flags the current CLI
/// has. The docs are read when the test runs, so a flag renamed in the code or a page added later is checked too.
/// </summary>
public partial class DocCommandTests
{
    static readonly RootCommand Root = TbarCli.Root(new StringWriter(), new StringWriter());

    static string Repository => Path.GetDirectoryName(Path.GetDirectoryName(TbarRegressionTests.MiniClip()))!;

    /// <summary>The pages whose commands a user copies: the README and every page under docs/.</summary>
    static IEnumerable<string> Pages() =>
        Directory.EnumerateFiles(Path.Combine(Repository, "docs"), "*.md").Order(StringComparer.Ordinal).Prepend(Path.Combine(Repository, "README.md"));

    /// <summary>(line number, words after `tbar`) of every tbar invocation in a fenced block; continuation lines are joined.</summary>
    public static IEnumerable<(int Line, string[] Words)> Invocations(string markdown)
    {
        string[] lines = markdown.Split('\n');
        bool fenced = false;
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal)) { fenced = !fenced; continue; }
            if (!fenced) continue;
            int first = i;
            string text = lines[i];
            while (text.TrimEnd().EndsWith('\\') && i + 1 < lines.Length) text = text.TrimEnd()[..^1] + " " + lines[++i];
            // A shell comment, a pipe or a redirection ends the command.
            string command = ShellEnd().Split(text)[0];
            var words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int at = Array.FindIndex(words, w => w is "tbar" or "./tbar" || w.EndsWith("/tbar", StringComparison.Ordinal));
            if (at >= 0) yield return (first + 1, words[(at + 1)..]);
        }
    }

    /// <summary>Why <paramref name="words"/> does not parse with the current CLI, or null when every command and flag exists.</summary>
    public static string? Problem(string[] words)
    {
        Command command = Root;
        var flags = new HashSet<string>(Root.Options.SelectMany(Names), StringComparer.Ordinal);
        int k = 0;
        for (; k < words.Length; k++)
        {
            var sub = command.Subcommands.FirstOrDefault(c => c.Name == words[k] || c.Aliases.Contains(words[k]));
            if (sub == null) break;
            command = sub;
            flags.UnionWith(sub.Options.SelectMany(Names));
        }
        if (k < words.Length && !words[k].StartsWith('-') && command.Subcommands.Count > 0 && command.Arguments.Count == 0)
            return $"'{command.Name}' has no sub-command '{words[k]}'";
        if (command == Root) return "no command";
        foreach (var word in words.Skip(k).Where(w => w.StartsWith("--", StringComparison.Ordinal)))
        {
            string flag = word.Split('=')[0];
            if (!flags.Contains(flag)) return $"'{string.Join(' ', words.Take(k))}' has no flag {flag}";
        }
        return null;
    }

    static IEnumerable<string> Names(Option o) => o.Aliases.Prepend(o.Name);

    [GeneratedRegex(@"\s(#|\||>|2>|&&|;)")]
    private static partial Regex ShellEnd();

    [Fact]
    public void EveryTbarCommandInTheDocsParses()
    {
        var problems = new List<string>();
        int checkedLines = 0;
        foreach (var page in Pages())
            foreach (var (line, words) in Invocations(File.ReadAllText(page)))
            {
                checkedLines++;
                if (Problem(words) is string why) problems.Add($"{Path.GetRelativePath(Repository, page)}:{line}: {why}");
            }
        Assert.True(checkedLines >= 5, $"only {checkedLines} tbar lines found in the docs");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void TheCheckFindsAMissingFlagAMissingCommandAndContinuedLines()
    {
        string page = "text ./tbar eval --nope\n```bash\n./tbar unlearn --model M \\\n    --no-such-flag X --out O  # a comment --x\n"
            + "OMP_NUM_THREADS=1 tbar report no-such --in D\n/usr/bin/time -v ./tbar eval --model M --json=F | tee log\n```\n";
        var found = Invocations(page).ToList();
        Assert.Equal([3, 5, 6], found.Select(f => f.Line));
        Assert.Equal("'unlearn' has no flag --no-such-flag", Problem(found[0].Words));
        Assert.Equal("'report' has no sub-command 'no-such'", Problem(found[1].Words));
        Assert.Null(Problem(found[2].Words));
        Assert.Equal("no command", Problem([]));
        Assert.Null(Problem(["plan", "run", "--plan", "F", "--cell", "0", "--threads", "1", "--verbose"]));
    }
}
