using Tbar.Models;

namespace Tbar.Data;

/// <summary>Caption templates and class synonyms that turn a labelled image set into image–caption pairs.</summary>
public sealed class Captions
{
    /// <summary>Templates for product-style photos; "{}" is replaced by a class name or synonym.</summary>
    public static readonly string[] Templates = Prompts.Product;

    /// <summary>Fashion-MNIST's classes, each with its own name first, then synonyms.</summary>
    public static readonly string[][] FashionMnistSynonyms =
    [
        ["t-shirt/top", "t-shirt", "tee", "top"],
        ["trouser", "trousers", "pants", "pair of trousers"],
        ["pullover", "sweater", "jumper"],
        ["dress", "gown", "frock"],
        ["coat", "jacket", "overcoat"],
        ["sandal", "sandals", "open shoe"],
        ["shirt", "button-up shirt", "blouse"],
        ["sneaker", "sneakers", "trainer shoe"],
        ["bag", "handbag", "purse"],
        ["ankle boot", "boot", "ankle boots"],
    ];

    readonly string[][] synonyms;

    /// <summary>Captions for a class list: Fashion-MNIST's synonyms when the names match, else each name alone (lower-case).</summary>
    public static Captions For(IReadOnlyList<string> classNames) =>
        classNames.SequenceEqual(FashionMnist.ClassNames)
            ? new Captions(FashionMnistSynonyms)
            : new Captions(classNames.Select(n => new[] { n.ToLowerInvariant() }).ToArray());

    public Captions(string[][] synonyms) => this.synonyms = synonyms;

    /// <summary>A caption for class <paramref name="label"/>, template and synonym drawn from <paramref name="rng"/>.</summary>
    public string Sample(long label, Random rng)
    {
        var names = synonyms[label];
        return Templates[rng.Next(Templates.Length)].Replace("{}", names[rng.Next(names.Length)]);
    }

    /// <summary>Every caption the sampler can produce (the corpus a vocabulary is learned from).</summary>
    public IEnumerable<string> All() =>
        synonyms.SelectMany(names => names).SelectMany(name => Templates.Select(t => t.Replace("{}", name)));
}
