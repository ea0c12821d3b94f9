using Tbar.Data;
using Tbar.Models;

namespace Tbar.Pipelines;

/// <summary>
/// What a command works on: a model (a path or an embedded name, <see cref="ModelNames"/>), a data spec's splits at the
/// model's image size, and the zero-shot head over the data's classes. The one place the CLI's model, tokenizer, head and data
/// loading happens; disposing it frees all three.
/// </summary>
public sealed class Workbench : IDisposable
{
    /// <summary>The model as loaded.</summary>
    public Clip Model { get; }
    /// <summary>The data spec's train (defender's) and test splits.</summary>
    public DataSplits Data { get; }
    /// <summary>Zero-shot head over the class names of the split it was built for.</summary>
    public ZeroShotHead Head { get; }

    Workbench(Clip model, DataSplits data, ZeroShotHead head) => (Model, Data, Head) = (model, data, head);

    /// <summary>
    /// Loads <paramref name="model"/>, then <paramref name="dataSpec"/> at its image size, then the head over the train split's
    /// classes (the test split's with <paramref name="testClasses"/>), with the tokenizer of <paramref name="tokenizerDir"/>
    /// or the model's own.
    /// </summary>
    public static Workbench Open(string model, string? tokenizerDir, string dataSpec, bool testClasses = false)
    {
        var clip = LoadModel(model);
        DataSplits? data = null;
        try
        {
            data = LoadData(dataSpec, clip);
            var classes = testClasses ? data.Test.ClassNames : data.Train.ClassNames;
            return new Workbench(clip, data, ZeroShotHead.ForClasses(clip, Tokenizer(clip, tokenizerDir), classes));
        }
        catch
        {
            data?.Dispose();
            clip.Dispose();
            throw;
        }
    }

    /// <summary>A model from a folder, a .safetensors file or an embedded name.</summary>
    public static Clip LoadModel(string model) => ClipCheckpoint.Load(ModelNames.Resolve(model));

    /// <summary><see cref="LoadModel(string)"/>, with what the loader found (layout, weights file).</summary>
    public static Clip LoadModel(string model, out LoadReport report) => ClipCheckpoint.Load(ModelNames.Resolve(model), out report);

    /// <summary>The splits of a data spec at <paramref name="model"/>'s image size.</summary>
    public static DataSplits LoadData(string dataSpec, Clip model) => LoadData(dataSpec, model.Config.Vision.ImageSize);

    /// <summary>The splits of a data spec with images of side <paramref name="imageSize"/>.</summary>
    public static DataSplits LoadData(string dataSpec, int imageSize) => DataSpec.Load(dataSpec, imageSize);

    /// <summary>The tokenizer in <paramref name="dir"/> (vocab.json + merges.txt), or the model's own when null.</summary>
    public static ClipTokenizer Tokenizer(Clip model, string? dir) => Tokenizers.For(model, dir);

    /// <summary>A zero-shot head over <paramref name="classNames"/> under <paramref name="templates"/> (null: the default four).</summary>
    public static ZeroShotHead HeadFor(Clip model, string? tokenizerDir, IReadOnlyList<string> classNames, IReadOnlyList<string>? templates) =>
        ZeroShotHead.Build(model, Tokenizer(model, tokenizerDir), classNames, templates);

    public void Dispose()
    {
        Head.Dispose();
        Data.Dispose();
        Model.Dispose();
    }
}
