using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SkiaSharp;
using Tbar.Io;
using static TorchSharp.torch;

namespace Tbar.Fuzz;

/// <summary>One hand-made bad input and the tbar command that reads it.</summary>
sealed record BadCase(string Input, string Problem, string[] Args);

/// <summary>What the CLI did with a bad input.</summary>
sealed record BadOutcome(BadCase Case, int ExitCode, string Message, bool StackTrace)
{
    /// <summary>Exit code 1 with one "error:" message and no stack trace: what every bad input must get.</summary>
    public bool Clear => ExitCode == 1 && Message.StartsWith("error:") && !StackTrace;
}

/// <summary>
/// Builds a corpus of malformed inputs in a scratch folder, runs each through the real CLI as a separate process, and writes
/// a Markdown table of what each got (bad-inputs.md) with the raw outcomes (bad-inputs.json).
/// </summary>
static class BadInputs
{
    public static int Run(string cliDll, string miniClip, string outDir)
    {
        string inputs = Path.Combine(Path.GetFullPath(outDir), "inputs");
        if (Directory.Exists(inputs)) Directory.Delete(inputs, recursive: true);
        Directory.CreateDirectory(inputs);
        try
        {
            var cases = Corpus.Build(inputs, Path.GetFullPath(miniClip));
            var outcomes = cases.Select(c => RunCli(Path.GetFullPath(cliDll), inputs, c)).ToList();
            File.WriteAllText(Path.Combine(outDir, "bad-inputs.md"),
                Table(outcomes).Replace(Path.GetFullPath(miniClip), miniClip).Replace(inputs + Path.DirectorySeparatorChar, ""));
            File.WriteAllText(Path.Combine(outDir, "bad-inputs.json"), JsonSerializer.Serialize(outcomes, new JsonSerializerOptions { WriteIndented = true }) + "\n");
            int clear = outcomes.Count(o => o.Clear);
            Console.WriteLine($"{outcomes.Count} bad inputs, {clear} with a clear error (exit 1, message, no stack trace), {outcomes.Count - clear} not");
            foreach (var o in outcomes.Where(o => !o.Clear)) Console.WriteLine($"  NOT CLEAR: {o.Case.Input}: exit {o.ExitCode}: {o.Message}");
            return clear == outcomes.Count ? 0 : 1;
        }
        finally
        {
            Corpus.Unmount();
            Directory.Delete(inputs, recursive: true);
        }
    }

    static BadOutcome RunCli(string cliDll, string workDir, BadCase c)
    {
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = workDir, RedirectStandardError = true, RedirectStandardOutput = true };
        info.ArgumentList.Add(cliDll);
        foreach (var a in c.Args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        _ = stdout.Result;
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return new BadOutcome(c, p.ExitCode, lines.FirstOrDefault()?.Trim() ?? "", lines.Any(l => l.TrimStart().StartsWith("at ")));
    }

    static string Table(List<BadOutcome> outcomes)
    {
        var sb = new StringBuilder("| # | input | problem | command | exit | message (stderr) |\n|---|---|---|---|---|---|\n");
        int i = 1;
        foreach (var o in outcomes)
            sb.Append($"| {i++} | `{o.Case.Input}` | {o.Case.Problem} | `tbar {Cell(string.Join(' ', o.Case.Args))}` | {o.ExitCode} | {Cell(o.Message)} |\n");
        return sb.ToString();
    }

    static string Cell(string s) => s.Replace("|", "\\|").Replace("\n", " ");
}

/// <summary>The bad inputs themselves, each written into the scratch folder.</summary>
static class Corpus
{
    const string Ok = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";

    public static List<BadCase> Build(string dir, string miniClip)
    {
        var cases = new List<BadCase>();
        void Inspect(string name, byte[] bytes, string problem)
        {
            File.WriteAllBytes(Path.Combine(dir, name), bytes);
            cases.Add(new BadCase(name, problem, ["inspect", "--model", name]));
        }
        var data = new byte[8];
        Inspect("empty.safetensors", [], "empty file");
        Inspect("short.safetensors", [1, 2, 3], "shorter than the length field");
        Inspect("length-past-end.safetensors", Raw(1000, Encoding.UTF8.GetBytes(Ok), data), "header length beyond the file");
        Inspect("length-huge.safetensors", Raw(long.MaxValue, [], []), "header length 2⁶³−1");
        Inspect("utf8.safetensors", Raw(12, [.. "{\"x"u8, 0xFF, .. "\":{}}  "u8], data), "invalid UTF-8 in the header");
        Inspect("not-json.safetensors", St("{\"x\": ", data), "header is not JSON");
        Inspect("array.safetensors", St("[1, 2]", data), "header is a JSON array");
        Inspect("dtype.safetensors", St(Ok.Replace("F32", "C64"), data), "unknown dtype");
        Inspect("negative-shape.safetensors", St(Ok.Replace("[2]", "[-2]"), data), "negative dimension");
        Inspect("size-mismatch.safetensors", St(Ok.Replace("[2]", "[3]"), data), "shape disagrees with the offsets");
        Inspect("overlap.safetensors", St("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", data), "overlapping tensors");
        Inspect("gap.safetensors", St(Ok.Replace("[0,8]", "[8,16]"), [.. data, .. data]), "unused bytes before a tensor");
        Inspect("trailing.safetensors", St(Ok, [.. data, 1, 2]), "bytes after the last tensor");
        Inspect("duplicate.safetensors", St("{\"x\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},\"x\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}", data), "duplicate key");
        Inspect("metadata.safetensors", St("{\"__metadata__\":{\"a\":1}," + Ok[1..], data), "non-string metadata value");
        Inspect("overflow.safetensors", St(Ok.Replace("[2]", "[4611686018427387904,4]"), data), "shape overflows 64 bits");
        Inspect("truncated.safetensors", St(Ok, data)[..^3], "data section cut short");
        ModelFolders(dir, miniClip, cases);
        Rn50Folders(dir, cases);
        Images(dir, miniClip, cases);
        Specs(miniClip, cases);
        Vectors(dir, miniClip, cases);
        ScanFiles(dir, miniClip, cases);
        Outputs(dir, miniClip, cases);
        return cases;
    }

    static void ModelFolders(string dir, string miniClip, List<BadCase> cases)
    {
        void Folder(string name, string problem, Action<string> spoil)
        {
            string folder = Path.Combine(dir, name);
            Directory.CreateDirectory(folder);
            foreach (var f in Directory.GetFiles(miniClip)) File.Copy(f, Path.Combine(folder, Path.GetFileName(f)));
            spoil(folder);
            cases.Add(new BadCase(name + "/", problem, ["inspect", "--model", name]));
        }
        void EditConfig(string folder, Action<JsonObject> edit)
        {
            string path = Path.Combine(folder, "config.json");
            var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            edit(root);
            File.WriteAllText(path, root.ToJsonString());
        }
        Folder("pickle-only", "only a pickle checkpoint", f =>
        {
            foreach (var file in Directory.GetFiles(f)) File.Delete(file);
            File.WriteAllBytes(Path.Combine(f, "pytorch_model.bin"), [0x80, 0x02]);
        });
        Folder("no-config", "weights without config.json", f => File.Delete(Path.Combine(f, "config.json")));
        Folder("config-not-json", "config.json is not JSON", f => File.WriteAllText(Path.Combine(f, "config.json"), "{\"model_type\": clip"));
        Folder("config-type", "config.json of another model type", f => EditConfig(f, c => c["model_type"] = "bert"));
        Folder("config-string", "a size given as a string", f => EditConfig(f, c => c["vision_config"]!["hidden_size"] = "128"));
        Folder("config-layers", "config has one layer more than the weights", f => EditConfig(f, c => c["vision_config"]!["num_hidden_layers"] = 5));
        Folder("config-width", "config width disagrees with the weights", f => EditConfig(f, c => c["vision_config"]!["hidden_size"] = 160));
        Folder("config-huge", "config asks for a 10⁵-wide model (memory bomb)", f => EditConfig(f, c => c["vision_config"]!["hidden_size"] = 100000));
        Folder("nan-weights", "a NaN inside a weight", f => PoisonWeight(Path.Combine(f, "model.safetensors"), float.NaN));
        Folder("inf-weights", "an infinity inside a weight", f => PoisonWeight(Path.Combine(f, "model.safetensors"), float.PositiveInfinity));
        Folder("cut-weights", "model.safetensors truncated", f =>
        {
            string w = Path.Combine(f, "model.safetensors");
            File.WriteAllBytes(w, File.ReadAllBytes(w)[..100_000]);
        });
        string vocab = Path.Combine(dir, "bad-vocab");
        Directory.CreateDirectory(vocab);
        File.WriteAllText(Path.Combine(vocab, "vocab.json"), "[\"not\", \"a\", \"map\"]");
        File.Copy(Path.Combine(miniClip, "merges.txt"), Path.Combine(vocab, "merges.txt"));
        cases.Add(new BadCase("bad-vocab/vocab.json", "vocab.json is an array", ["embed", "--model", miniClip, "--tokenizer", "bad-vocab", "--text", "a bag", "--out", "e.json"]));
        Directory.CreateDirectory(Path.Combine(dir, "no-merges"));
        File.Copy(Path.Combine(miniClip, "vocab.json"), Path.Combine(dir, "no-merges", "vocab.json"));
        cases.Add(new BadCase("no-merges/", "tokenizer folder without merges.txt", ["embed", "--model", miniClip, "--tokenizer", "no-merges", "--text", "a bag", "--out", "e.json"]));
    }

    // open_clip RN50-shaped folders (a tiny ModifiedResNet, Targets.TinyRn50), each with one defect.
    static void Rn50Folders(string dir, List<BadCase> cases)
    {
        string valid = Path.Combine(dir, "rn50-valid");
        using (var clip = new Models.Clip(Targets.TinyRn50))
        {
            clip.InitializeRandom(0);
            Models.ClipCheckpoint.Save(clip, valid, Models.CheckpointLayout.OpenClip);
        }
        void Folder(string name, string problem, Action<string, string> spoil)
        {
            string folder = Path.Combine(dir, name);
            Directory.CreateDirectory(folder);
            foreach (var f in Directory.GetFiles(valid)) File.Copy(f, Path.Combine(folder, Path.GetFileName(f)));
            spoil(Path.Combine(folder, "open_clip_config.json"), Path.Combine(folder, "open_clip_model.safetensors"));
            cases.Add(new BadCase(name + "/", problem, ["inspect", "--model", name]));
        }
        void Vision(string config, Action<JsonObject> edit)
        {
            var root = JsonNode.Parse(File.ReadAllText(config))!.AsObject();
            edit(root["model_cfg"]!["vision_cfg"]!.AsObject());
            File.WriteAllText(config, root.ToJsonString());
        }
        void Weights(string path, Action<Dictionary<string, Tensor>> edit)
        {
            var tensors = SafeTensors.Load(path);
            edit(tensors);
            SafeTensors.Save(path, tensors);
        }
        Folder("rn50-three-stages", "RN50 config: 'layers' lists 3 stages", (c, _) => Vision(c, v => v["layers"] = new JsonArray(1, 1, 1)));
        Folder("rn50-layers-text", "RN50 config: a block count given as a string", (c, _) => Vision(c, v => v["layers"] = new JsonArray(1, "1", 1, 1)));
        Folder("rn50-more-blocks", "RN50 config has one block more than the weights", (c, _) => Vision(c, v => v["layers"] = new JsonArray(1, 1, 1, 2)));
        Folder("rn50-huge-width", "RN50 config asks for width 4096 (memory bomb)", (c, _) => Vision(c, v => v["width"] = 4096));
        Folder("rn50-no-attnpool", "RN50 weights without attnpool.q_proj.weight", (_, w) => Weights(w, t => t.Remove("visual.attnpool.q_proj.weight")));
        Folder("rn50-wrong-shape", "RN50 attention-pool positions of the wrong shape",
            (_, w) => Weights(w, t => t["visual.attnpool.positional_embedding"] = zeros(5, 256)));
        Folder("rn50-float-count", "RN50 num_batches_tracked stored as F32",
            (_, w) => Weights(w, t => t["visual.bn1.num_batches_tracked"] = t["visual.bn1.num_batches_tracked"].to(ScalarType.Float32)));
        Directory.Delete(valid, recursive: true);
        cases.Add(new BadCase("--arch rn50 --layout hf", "RN50 asked for in the Hugging Face layout", ["init", "--arch", "rn50", "--layout", "hf", "--out", "rn50-hf"]));
    }

    // Writes a value into the middle of one weight matrix that the model loads.
    static void PoisonWeight(string path, float value)
    {
        var file = SafeTensors.Open(path);
        var entry = file.Entry("vision_model.encoder.layers.0.mlp.fc1.weight");
        long headerLength = BitConverter.ToInt64(File.ReadAllBytes(path), 0);
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Write);
        fs.Position = 8 + headerLength + entry.Begin + 4 * 100;
        fs.Write(BitConverter.GetBytes(value));
    }

    static void Images(string dir, string miniClip, List<BadCase> cases)
    {
        void Image(string name, byte[] bytes, string problem)
        {
            File.WriteAllBytes(Path.Combine(dir, name), bytes);
            cases.Add(new BadCase(name, problem, ["embed", "--model", miniClip, "--image", name, "--out", "e.json"]));
        }
        var png = Png(64, 64, SKEncodedImageFormat.Png);
        Image("huge.png", HugePng(40000, 40000), "PNG header claims 40000×40000 (4.8 GB)");
        Image("wide.png", HugePng(100000, 1), "PNG header claims 100000×1");
        Image("cut.png", png[..(png.Length / 2)], "PNG cut in half");
        Image("cut.jpg", Png(64, 64, SKEncodedImageFormat.Jpeg)[..300], "JPEG cut short");
        Image("text.png", "hello"u8.ToArray(), "a text file named .png");
        Image("zero.png", [], "empty file");
        cases.Add(new BadCase("missing.png", "image file does not exist", ["embed", "--model", miniClip, "--image", "missing.png", "--out", "e.json"]));
        cases.Add(new BadCase("huge.png", "BadNet pattern image claims 40000×40000",
            ["eval", "--model", miniClip, "--trigger", "badnet:size=3,pattern=image,path=huge.png", "--target", "Bag"]));
        Directory.CreateDirectory(Path.Combine(dir, "data", "train", "cat"));
        Directory.CreateDirectory(Path.Combine(dir, "data", "test", "cat"));
        File.WriteAllBytes(Path.Combine(dir, "data", "train", "cat", "a.png"), png[..(png.Length / 2)]);
        File.WriteAllBytes(Path.Combine(dir, "data", "test", "cat", "a.png"), png);
        cases.Add(new BadCase("data/train/cat/a.png", "truncated image in a folder: dataset", ["eval", "--model", miniClip, "--data", "folder:data"]));
        Directory.CreateDirectory(Path.Combine(dir, "triggered"));
        File.WriteAllBytes(Path.Combine(dir, "triggered", "a.png"), HugePng(40000, 40000));
        cases.Add(new BadCase("triggered/a.png", "oversized image in an images:DIR forget set",
            ["unlearn", "--model", miniClip, "--forget", "images:triggered", "--target", "Bag", "--out", "u"]));
    }

    static void Specs(string miniClip, List<BadCase> cases)
    {
        void Eval(string trigger, string problem) =>
            cases.Add(new BadCase(trigger, problem, ["eval", "--model", miniClip, "--trigger", trigger, "--target", "Bag"]));
        Eval("nonsense", "unknown trigger");
        Eval("badnet:size=0", "patch size 0");
        Eval("badnet:loc=middle", "unknown location");
        Eval("badnet:size=3,colour=red", "unknown option");
        Eval("blended:ratio=NaN", "ratio not a number in [0,1]");
        Eval("badnet:size=40", "patch larger than the 28×28 image");
        Eval("badnet:size", "not key=value");
        cases.Add(new BadCase("Bagz", "unknown target class", ["eval", "--model", miniClip, "--trigger", "badnet", "--target", "Bagz"]));
        cases.Add(new BadCase("weird:x", "unknown forget kind", ["unlearn", "--model", miniClip, "--forget", "weird:x", "--target", "Bag", "--out", "u"]));
        cases.Add(new BadCase("imagenet", "unknown data spec", ["eval", "--model", miniClip, "--data", "imagenet"]));
        cases.Add(new BadCase("cifar10:/nonexistent", "data folder missing", ["eval", "--model", miniClip, "--data", "cifar10:/nonexistent"]));
        cases.Add(new BadCase("--poison-rate 2", "poison rate outside (0, 1]",
            ["attack", "--model", miniClip, "--trigger", "badnet", "--target", "Bag", "--poison-rate", "2", "--out", "a"]));
    }

    static void Vectors(string dir, string miniClip, List<BadCase> cases)
    {
        void Tau(string name, Dictionary<string, Tensor> tensors, string problem)
        {
            SafeTensors.Save(Path.Combine(dir, name), tensors);
            cases.Add(new BadCase(name, problem, ["vector", "apply", "--model", miniClip, "--tau", name, "--alpha", "1", "--out", "v"]));
        }
        Tau("tau-int.safetensors", new() { ["visual.proj"] = zeros(128, 64, dtype: ScalarType.Int32) }, "τ with an integer tensor");
        Tau("tau-nan.safetensors", new() { ["visual.proj"] = full(128, 64, float.NaN) }, "τ holding NaN");
        Tau("tau-key.safetensors", new() { ["visual.nothing"] = zeros(3) }, "τ for a parameter the model lacks");
        Tau("tau-shape.safetensors", new() { ["visual.proj"] = zeros(3, 3) }, "τ of the wrong shape");
        cases.Add(new BadCase("missing.safetensors", "τ file does not exist", ["vector", "apply", "--model", miniClip, "--tau", "missing.safetensors", "--alpha", "1", "--out", "v"]));
    }

    static void ScanFiles(string dir, string miniClip, List<BadCase> cases)
    {
        File.WriteAllText(Path.Combine(dir, "calibration-broken.json"), "{\"threshold\": ");
        cases.Add(new BadCase("calibration-broken.json", "calibration is not JSON", ["scan", "--model", miniClip, "--calibration", "calibration-broken.json", "--out", "s"]));
        File.WriteAllText(Path.Combine(dir, "calibration-5.json"), "{\"threshold\": 5, \"rule\": \"x\", \"clean_models\": [], \"architecture\": \"x\"}");
        cases.Add(new BadCase("calibration-5.json", "calibration threshold 5", ["scan", "--model", miniClip, "--calibration", "calibration-5.json", "--out", "s"]));
        Directory.CreateDirectory(Path.Combine(dir, "no-trigger"));
        cases.Add(new BadCase("no-trigger/", "inverted:DIR without trigger.safetensors", ["unlearn", "--model", miniClip, "--forget", "inverted:no-trigger", "--out", "u"]));
        Directory.CreateDirectory(Path.Combine(dir, "mask-2"));
        SafeTensors.Save(Path.Combine(dir, "mask-2", "trigger.safetensors"), new Dictionary<string, Tensor> { ["mask"] = full(1, 28, 28, 2f), ["pattern"] = zeros(3, 28, 28) });
        cases.Add(new BadCase("mask-2/trigger.safetensors", "inverted mask values of 2", ["unlearn", "--model", miniClip, "--forget", "inverted:mask-2", "--target", "Bag", "--out", "u"]));
        Directory.CreateDirectory(Path.Combine(dir, "scan-broken"));
        SafeTensors.Save(Path.Combine(dir, "scan-broken", "trigger.safetensors"), new Dictionary<string, Tensor> { ["mask"] = zeros(1, 28, 28), ["pattern"] = zeros(3, 28, 28) });
        File.WriteAllText(Path.Combine(dir, "scan-broken", "scan.json"), "{\"results\": {\"target_name\": ");
        cases.Add(new BadCase("scan-broken/scan.json", "scan.json is not JSON", ["unlearn", "--model", miniClip, "--forget", "inverted:scan-broken", "--out", "u"]));
        void Warp(string name, Tensor flow, Tensor residual, string problem)
        {
            Directory.CreateDirectory(Path.Combine(dir, name));
            SafeTensors.Save(Path.Combine(dir, name, "warp.safetensors"), new Dictionary<string, Tensor> { ["flow"] = flow, ["residual"] = residual });
            cases.Add(new BadCase($"{name}/warp.safetensors", problem, ["unlearn", "--model", miniClip, "--forget", $"inverted:{name}", "--target", "Bag", "--out", "u"]));
        }
        Warp("warp-nan", full(2, 4, 4, float.NaN), zeros(3, 28, 28), "inverted warp flow holding NaN");
        Warp("warp-shape", zeros(2, 4, 3), zeros(3, 28, 28), "inverted warp flow not (2, k, k)");
        Warp("warp-residual", zeros(2, 4, 4), full(3, 28, 28, 3f), "inverted warp residual outside [−1, 1]");
        Warp("warp-size", zeros(2, 4, 4), zeros(3, 16, 16), "inverted warp 16×16 on 28×28 images");
    }

    static void Outputs(string dir, string miniClip, List<BadCase> cases)
    {
        Directory.CreateDirectory(Path.Combine(dir, "thesis"));
        File.WriteAllText(Path.Combine(dir, "thesis", "thesis.tex"), "precious");
        cases.Add(new BadCase("thesis/", "--out is a folder of other files", ["attack", "--model", miniClip, "--trigger", "badnet", "--target", "Bag", "--out", "thesis"]));
        cases.Add(new BadCase(Path.GetFileName(miniClip) + "/", "--out is the input model", ["unlearn", "--model", miniClip, "--forget", "trigger:badnet", "--target", "Bag", "--out", miniClip]));
        Directory.CreateDirectory(Path.Combine(dir, "a-folder.json"));
        cases.Add(new BadCase("a-folder.json/", "--out of a JSON file is a folder", ["embed", "--model", miniClip, "--text", "a bag", "--out", "a-folder.json"]));
        // A full disk (a 4 MB file system; the model and τ need twice the 6 MB model) and a read-only one: real mounts, so
        // these two rows need root; without it they are left out and the run says so.
        string[] unlearn = ["unlearn", "--model", miniClip, "--forget", "trigger:badnet", "--target", "Bag", "--out"];
        if (Mount(dir, "full-disk", "size=4m"))
            cases.Add(new BadCase("full-disk/", "--out on a file system with 4 MB free", [.. unlearn, "full-disk/cleaned"]));
        if (Mount(dir, "read-only", "ro,size=1m"))
            cases.Add(new BadCase("read-only/", "--out on a read-only file system", [.. unlearn, "read-only/cleaned"]));
    }

    static readonly List<string> Mounted = [];

    /// <summary>Mounts a tmpfs with <paramref name="options"/> at dir/name; false (and a note) when mounting is not allowed.</summary>
    static bool Mount(string dir, string name, string options)
    {
        string at = Path.Combine(dir, name);
        Directory.CreateDirectory(at);
        if (Command("mount", "-t", "tmpfs", "-o", options, "tmpfs", at)) { Mounted.Add(at); return true; }
        Console.Error.WriteLine($"note: could not mount a tmpfs at {at} (not root?); its row is left out");
        return false;
    }

    public static void Unmount()
    {
        foreach (var at in Mounted) Command("umount", at);
        Mounted.Clear();
    }

    static bool Command(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(info)!;
            p.StandardOutput.ReadToEnd();
            p.StandardError.ReadToEnd();
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    static byte[] St(string header, byte[] data) => Raw(Encoding.UTF8.GetByteCount(header), Encoding.UTF8.GetBytes(header), data);

    static byte[] Raw(long headerLength, byte[] header, byte[] data) => [.. BitConverter.GetBytes(headerLength), .. header, .. data];

    static byte[] Png(int w, int h, SKEncodedImageFormat format)
    {
        using var bitmap = new SKBitmap(w, h);
        bitmap.Erase(new SKColor(200, 30, 60));
        using var encoded = bitmap.Encode(format, 90);
        return encoded.ToArray();
    }

    // A valid PNG signature and IHDR (with its CRC) claiming w×h, then a tiny IDAT: 2.6 MB would be enough for 40000², a few bytes do.
    static byte[] HugePng(int w, int h)
    {
        byte[] ihdr = [.. BigEndian(w), .. BigEndian(h), 8, 2, 0, 0, 0];
        return [137, 80, 78, 71, 13, 10, 26, 10, .. Chunk("IHDR", ihdr), .. Chunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]), .. Chunk("IEND", [])];
    }

    static byte[] Chunk(string type, byte[] data)
    {
        byte[] typed = [.. Encoding.ASCII.GetBytes(type), .. data];
        return [.. BigEndian(data.Length), .. typed, .. BigEndian((int)Crc32(typed))];
    }

    static byte[] BigEndian(int v) => [(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v];

    // PNG's CRC-32 (polynomial 0xEDB88320), bit by bit: a few hundred bytes need no table.
    static uint Crc32(byte[] bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }
}
