using FsCheck;
using FsCheck.Xunit;
using Tbar.Attacks;
using Tbar.Data;
using Tbar.Unlearning;
using static TorchSharp.torch;

namespace Tbar.Tests.Fuzz;

/// <summary>The spec parsers (trigger, forget, data) on generated text, 1,000 cases each: a trigger or a clear error.</summary>
public class SpecProperties
{
    const int Cases = 1000;
    static readonly string[] Names = ["badnet", "blended", "wanet", "sig", "badclip", "BadNet", "", "x", " sig "];
    static readonly string[] Keys = ["size", "pattern", "loc", "seed", "ratio", "k", "s", "noise", "amp", "freq", "path", "steps", "colour", "SIZE"];
    static readonly string[] Values = ["0", "1", "3", "-1", "2.5", "1e9", "NaN", "Infinity", "checker", "noise", "image", "random", "br", "tl", "",
        "999999999999", "0x10", "/nonexistent.png", " 2 ", "=", "é"];

    /// <summary>A spec built from the parsers' own vocabulary, with separators sometimes dropped or doubled.</summary>
    static string Spec(Random rng)
    {
        var pairs = Enumerable.Range(0, rng.Next(0, 5)).Select(_ =>
            Keys[rng.Next(Keys.Length)] + (rng.Next(10) == 0 ? "" : "=") + Values[rng.Next(Values.Length)]);
        string separator = rng.Next(10) == 0 ? ",," : ",";
        return Names[rng.Next(Names.Length)] + (rng.Next(8) == 0 ? "" : ":") + string.Join(separator, pairs);
    }

    static void TriggerOrClearError(string spec)
    {
        ITrigger? trigger = null;
        if (!ReaderProperties.AcceptsOrRejectsClearly(() => trigger = Triggers.Parse(spec), $"'{spec}'")) return;
        // An accepted spec is canonical: it rebuilds the same trigger, and the trigger works on a small batch or says why not.
        Assert.Equal(trigger!.Spec, Triggers.Parse(trigger.Spec).Spec);
        using var images = rand(2, 3, 8, 8, generator: new Generator(1));
        ReaderProperties.AcceptsOrRejectsClearly(() =>
        {
            using var output = trigger.Apply(images, [5, 9]);
            Assert.Equal(images.shape, output.shape);
            Assert.True(output.isfinite().all().item<bool>(), trigger.Spec);
        }, $"'{trigger.Spec}'");
    }

    [Property(MaxTest = Cases)]
    public void GeneratedTriggerSpecsGiveATriggerOrAClearError(DoNotSize<int> caseSeed) => TriggerOrClearError(Spec(new Random(caseSeed.Item)));

    [Property(MaxTest = Cases)]
    public void ArbitraryTextAsATriggerSpecGivesATriggerOrAClearError(NonNull<string> text) => TriggerOrClearError(text.Get);

    [Property(MaxTest = Cases)]
    public void ForgetSpecsGiveASourceOrAClearError(DoNotSize<int> caseSeed)
    {
        var rng = new Random(caseSeed.Item);
        string[] kinds = ["trigger", "inverted", "images", "", "Trigger", "x"];
        string argument = rng.Next(2) == 0 ? Spec(rng) : Values[rng.Next(Values.Length)];
        string text = kinds[rng.Next(kinds.Length)] + (rng.Next(6) == 0 ? "" : ":") + argument;
        // A known kind with an argument is rejected for the argument (a spec or a folder); anything else for the quoted text.
        int colon = text.IndexOf(':');
        string typedKind = colon < 0 ? text : text[..colon], typedArgument = colon < 0 ? "" : text[(colon + 1)..];
        bool known = typedKind is "trigger" or "inverted" or "images" && typedArgument.Length > 0;
        ForgetSource? source = null;
        if (!ReaderProperties.AcceptsOrRejectsClearly(() => source = ForgetSource.Parse(text), known ? typedArgument : $"'{text}'")) return;
        ReaderProperties.AcceptsOrRejectsClearly(() => source!.Target(rng.Next(2) == 0 ? "Bag" : null), "--target");
    }

    [Property(MaxTest = Cases)]
    public void DataSpecsOutsideTheInstalledDatasetGiveAClearError(DoNotSize<int> caseSeed)
    {
        var rng = new Random(caseSeed.Item);
        string[] kinds = ["cifar10", "cifar100", "folder", "fashion-mnist", "fmnist", "CIFAR10", "", "imagenet"];
        string[] folders = ["", "/nonexistent/data", "/proc/self", "é", "::", "/dev/null"];
        string text = kinds[rng.Next(kinds.Length)] + (rng.Next(6) == 0 ? "" : ":") + folders[rng.Next(folders.Length)];
        // The bare fashion-mnist spec names the installed dataset: a valid input, and too slow to load 1,000 times.
        if (text.Split(':')[0].ToLowerInvariant() is "fashion-mnist" or "fmnist" && !text.Contains('/')) return;
        // The error names the folder that is missing or unreadable (what follows the first colon), or else the quoted spec.
        int colon = text.IndexOf(':');
        string folder = colon < 0 ? "" : text[(colon + 1)..];
        Assert.False(ReaderProperties.AcceptsOrRejectsClearly(() => DataSpec.Load(text, 28).Dispose(), folder.Length > 0 ? folder : $"'{text}'"), text);
    }
}

/// <summary>The caption CSV reader on generated text: rows or a clear error, and quoting survives a round trip.</summary>
public class CaptionCsvProperties : TempFolder
{
    static readonly string[] Pieces = ["image", "caption", "a.png", "a bag", "\"", "\"\"", ",", "\n", "\r\n", "\r", "é", " ", "text", "path"];

    [Property(MaxTest = 1000)]
    public void GeneratedCsvTextIsParsedOrRejectedClearly(DoNotSize<int> caseSeed)
    {
        var rng = new Random(caseSeed.Item);
        string text = string.Concat(Enumerable.Range(0, rng.Next(0, 30)).Select(_ => Pieces[rng.Next(Pieces.Length)]));
        string path = Path.Combine(temp, "captions.csv");
        File.WriteAllText(path, text);
        ReaderProperties.AcceptsOrRejectsClearly(() => CaptionCsv.Load(path, 28).Dispose(), path);
    }

    [Property(MaxTest = 1000)]
    public void QuotedFieldsRoundTrip(NonNull<string>[] fields)
    {
        var values = fields.Select(f => f.Get).ToList();
        if (values.Count == 0) return;
        string line = string.Join(",", values.Select(v => "\"" + v.Replace("\"", "\"\"") + "\""));
        var rows = CaptionCsv.Parse(line, "mem.csv");
        Assert.Equal(values, Assert.Single(rows));
    }
}
