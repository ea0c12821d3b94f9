using System.Reflection;
using Onnx;
using static TorchSharp.torch;

namespace Tbar.Models;

/// <summary>
/// Imports the ImageNet ResNet of NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 (ONNX, exported by CNTK) into a
/// <see cref="ResNetTower"/>, checking every conv's shape, stride and padding against the tower's.
/// </summary>
public static class ResNetOnnx
{
    const string Package = "microsoft.ml.dnnimagefeaturizer.resnet18/0.23.1";
    const string NetworkFile = "tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx";
    const string PreprocessFile = "tools/DnnImageModels/ResNetPrepOnnx/ResNetPreprocess.onnx";

    /// <summary>The network file in the NuGet packages folder, or null when the package was not restored.</summary>
    public static string? NetworkPath => Find(NetworkFile);

    /// <summary>The companion preprocessing graph (RGB → BGR, minus a mean image), or null when absent.</summary>
    public static string? PreprocessPath => Find(PreprocessFile);

    /// <summary>The network file, or an error saying how to get it.</summary>
    public static string RequireNetwork() => NetworkPath ?? throw new TbarException(
        $"{Package}/{NetworkFile} not found in the NuGet packages folder; run 'dotnet restore' on src/Tbar (it downloads the package)");

    static string? Find(string relative)
    {
        var roots = new[]
        {
            typeof(ResNetOnnx).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "NuGetPackageRoot")?.Value,
            Environment.GetEnvironmentVariable("NUGET_PACKAGES"),
            Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
        };
        return roots.Where(r => !string.IsNullOrEmpty(r)).Select(r => Path.Combine(r!, Package, relative)).FirstOrDefault(File.Exists);
    }

    /// <summary>
    /// The preprocessing's mean image averaged per channel, in RGB order, on the 0–255 scale. The graph subtracts a
    /// 224×224 mean image; the tower works at other sides, so it takes the channel means.
    /// </summary>
    public static float[] ChannelMeanRgb(string preprocessPath)
    {
        var graph = Parse(preprocessPath).Graph;
        var mean = graph.Initializer.SingleOrDefault(t => t.Dims.Count == 4)
            ?? throw new TbarException($"{preprocessPath}: no 4-d mean image initializer");
        using var t = Values(mean, preprocessPath);
        using var perChannel = t.mean([0, 2, 3]);                                      // BGR
        return perChannel.flip(0).cpu().data<float>().ToArray();
    }

    /// <summary>The ResNet's preprocessing as a <see cref="PreprocessConfig"/> for [0,1] RGB input: (255·x − mean_c).</summary>
    public static PreprocessConfig Preprocess(int imageSize, float[] channelMeanRgb) =>
        new(imageSize, channelMeanRgb.Select(m => m / 255f).ToArray(), [1f / 255, 1f / 255, 1f / 255]);

    /// <summary>Copies the network's conv and BatchNorm tensors into <paramref name="tower"/> (its projection is left alone).</summary>
    public static void Import(ResNetTower tower, string onnxPath)
    {
        var graph = Parse(onnxPath).Graph;
        var initializers = graph.Initializer.ToDictionary(t => t.Name);
        var layers = OrderedLayers((ResNetConfig)tower.Shape);
        var convs = ConvsInTowerOrder(graph, layers, onnxPath);
        var state = tower.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        foreach (var (name, buffer) in tower.named_buffers()) state[name] = buffer;
        using var guard = no_grad();
        for (int i = 0; i < layers.Count; i++)
            CopyLayer(state, layers[i], convs[i], graph, initializers, onnxPath);
    }

    /// <summary>One conv-BN layer of the tower: its name prefix and the stride and ONNX pads [top, left, bottom, right] it uses.</summary>
    sealed record Layer(string Prefix, int Kernel, int Stride, long[] Pads);

    static List<Layer> OrderedLayers(ResNetConfig c)
    {
        var layers = new List<Layer> { new("stem", 7, 2, [3, 3, 2, 2]) };
        for (int s = 0; s < c.Blocks.Count; s++)
            for (int b = 0; b < c.Blocks[s]; b++)
            {
                bool down = c.HasShortcut(s, b);
                layers.Add(new($"layer{s + 1}.{b}.conv1", 3, down ? 2 : 1, down ? [1, 1, 0, 0] : [1, 1, 1, 1]));
                layers.Add(new($"layer{s + 1}.{b}.conv2", 3, 1, [1, 1, 1, 1]));
                if (down) layers.Add(new($"layer{s + 1}.{b}.shortcut", 1, 2, [0, 0, 0, 0]));
            }
        return layers;
    }

    // The export lists the stem first, then per block a shortcut (if any) before the main path's two convs: 3×3 convs
    // pair up with conv1/conv2 in graph order and 1×1 convs with the shortcuts in graph order.
    static List<NodeProto> ConvsInTowerOrder(GraphProto graph, List<Layer> layers, string path)
    {
        var convs = graph.Node.Where(n => n.OpType == "Conv").ToList();
        if (convs.Count != layers.Count) throw new TbarException($"{path}: {convs.Count} Conv nodes, the tower has {layers.Count} conv layers");
        var big = new Queue<NodeProto>(convs.Skip(1).Where(n => Ints(n, "kernel_shape")[0] != 1));
        var small = new Queue<NodeProto>(convs.Where(n => Ints(n, "kernel_shape")[0] == 1));
        return layers.Select((l, i) => i == 0 ? convs[0] : l.Kernel == 1 ? Dequeue(small, l, path) : Dequeue(big, l, path)).ToList();
    }

    static NodeProto Dequeue(Queue<NodeProto> q, Layer l, string path) =>
        q.Count > 0 ? q.Dequeue() : throw new TbarException($"{path}: no Conv node left for {l.Prefix}");

    static void CopyLayer(Dictionary<string, Tensor> state, Layer layer, NodeProto conv, GraphProto graph,
        Dictionary<string, TensorProto> inits, string path)
    {
        CheckConv(conv, layer, path);
        var bn = graph.Node.SingleOrDefault(n => n.OpType == "BatchNormalization" && n.Input[0] == conv.Output[0])
            ?? throw new TbarException($"{path}: no BatchNormalization after the conv of {layer.Prefix}");
        using var stored = Values(Init(inits, conv.Input[1], path), path);
        // The network reads BGR; the tower reads RGB, so the stem's input channels are reversed (an exact permutation).
        Copy(state, $"{layer.Prefix}.conv.weight", layer.Prefix == "stem" ? stored.flip(1) : stored.alias(), path);
        string[] bnNames = ["weight", "bias", "running_mean", "running_var"];
        for (int i = 0; i < 4; i++) Copy(state, $"{layer.Prefix}.bn.{bnNames[i]}", Values(Init(inits, bn.Input[i + 1], path), path), path);
    }

    static void CheckConv(NodeProto conv, Layer layer, string path)
    {
        bool ok = Ints(conv, "kernel_shape").SequenceEqual(new long[] { layer.Kernel, layer.Kernel })
            && Ints(conv, "strides").SequenceEqual(new long[] { layer.Stride, layer.Stride })
            && Ints(conv, "pads").SequenceEqual(layer.Pads) && Ints(conv, "group").All(g => g == 1);
        if (!ok) throw new TbarException($"{path}: Conv '{conv.Output[0]}' (for {layer.Prefix}) has kernel " +
            $"[{string.Join(",", Ints(conv, "kernel_shape"))}] strides [{string.Join(",", Ints(conv, "strides"))}] pads " +
            $"[{string.Join(",", Ints(conv, "pads"))}], the tower expects {layer.Kernel}/{layer.Stride} pads [{string.Join(",", layer.Pads)}]");
    }

    static void Copy(Dictionary<string, Tensor> state, string name, Tensor value, string path)
    {
        using (value)
        {
            var target = state.TryGetValue(name, out var t) ? t : throw new InvalidOperationException($"tower has no tensor {name}");
            if (!target.shape.SequenceEqual(value.shape))
                throw new TbarException($"{path}: {name} has shape [{string.Join(",", value.shape)}], " +
                    $"the tower expects [{string.Join(",", target.shape)}]");
            target.copy_(value);
        }
    }

    static long[] Ints(NodeProto node, string name)
    {
        var a = node.Attribute.FirstOrDefault(x => x.Name == name);
        return a == null ? [] : a.Ints.Count > 0 ? a.Ints.ToArray() : [a.I];
    }

    static TensorProto Init(Dictionary<string, TensorProto> inits, string name, string path) =>
        inits.TryGetValue(name, out var t) ? t : throw new TbarException($"{path}: initializer '{name}' missing");

    static Tensor Values(TensorProto t, string path)
    {
        if (t.DataType != (int)TensorProto.Types.DataType.Float) throw new TbarException($"{path}: initializer '{t.Name}' is not float32");
        var shape = t.Dims.ToArray();
        if (t.FloatData.Count > 0) return tensor(t.FloatData.ToArray()).reshape(shape);
        var bytes = t.RawData.ToByteArray();
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return tensor(values).reshape(shape);
    }

    static ModelProto Parse(string path)
    {
        try
        {
            return ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new TbarException($"{path}: not a readable ONNX model ({e.Message})");
        }
    }
}
