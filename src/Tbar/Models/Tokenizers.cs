namespace Tbar.Models;

/// <summary>Finds the tokenizer that goes with a loaded model.</summary>
public static class Tokenizers
{
    /// <summary>From <paramref name="dir"/> when given, else the model's own folder (HF layout ships vocab.json + merges.txt).</summary>
    public static ClipTokenizer For(Clip model, string? dir)
    {
        if (dir != null) return ClipTokenizer.FromFolder(dir);
        string folder = model.Origin?.Folder ?? throw new TbarException("the model has no folder; pass --tokenizer DIR");
        bool present = File.Exists(Path.Combine(folder, "vocab.json")) && File.Exists(Path.Combine(folder, "merges.txt"));
        if (!present && model.Origin.Layout == CheckpointLayout.OpenClip)
            throw new TbarException($"{folder}: open_clip folders carry no tokenizer files; pass --tokenizer DIR holding vocab.json and merges.txt");
        return ClipTokenizer.FromFolder(folder);
    }
}
