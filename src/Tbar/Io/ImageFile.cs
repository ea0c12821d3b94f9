using SkiaSharp;
using static TorchSharp.torch;

namespace Tbar.Io;

/// <summary>Decodes and writes image files with SkiaSharp; pixels as float tensors in [0,1].</summary>
public static class ImageFile
{
    /// <summary>PNG/JPEG/... → (3, H, W) float32 RGB in [0,1] (bytes/255); grey becomes 3 channels, alpha is dropped.</summary>
    public static Tensor LoadRgb(string path) => RgbTensor(DecodeRgba(path, out int h, out int w), h, w);

    /// <summary>A file as (3, H, W) in [0,1], stretched to exactly H×W (bilinear, antialiased): trigger patterns and patches.</summary>
    public static Tensor LoadResized(string path, long height, long width)
    {
        using var image = LoadRgb(path);
        return nn.functional.interpolate(image.unsqueeze(0), [height, width], mode: InterpolationMode.Bilinear, align_corners: false,
            antialias: true).squeeze(0).clamp(0, 1);
    }

    /// <summary>Decodes to RGBA8888 unpremultiplied bytes; an unreadable file is an error naming it.</summary>
    public static byte[] DecodeRgba(string path, out int height, out int width)
    {
        if (!File.Exists(path)) throw new TbarException($"{path}: image file not found");
        using var codec = SKCodec.Create(path) ?? throw new TbarException($"{path}: not a decodable image (PNG, JPEG, ...)");
        // Ask the decoder for straight (unpremultiplied) RGBA so colour values survive transparency untouched.
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var rgba = SKBitmap.Decode(codec, info) ?? throw new TbarException($"{path}: image data is corrupt or truncated");
        height = rgba.Height;
        width = rgba.Width;
        return rgba.Bytes;
    }

    static Tensor RgbTensor(byte[] rgba, int h, int w)
    {
        using var scope = NewDisposeScope();
        var t = tensor(rgba, ScalarType.Byte).view(h, w, 4).narrow(2, 0, 3).permute(2, 0, 1).to(ScalarType.Float32).div_(255f);
        return t.contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>Writes a (3,H,W) or (1,H,W) or (H,W) [0,1] tensor as an 8-bit PNG (rounded, clamped), atomically.</summary>
    public static void SavePng(string path, Tensor image)
    {
        using var scope = NewDisposeScope();
        var chw = image.dim() == 2 ? image.unsqueeze(0) : image;
        if (chw.shape[0] == 1) chw = chw.expand(3, -1, -1);
        int h = (int)chw.shape[1], w = (int)chw.shape[2];
        var bytes = chw.mul(255).round().clamp(0, 255).to(ScalarType.Byte).permute(1, 2, 0).contiguous().data<byte>().ToArray();
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var pixels = new byte[h * w * 4];
        for (int i = 0, j = 0; i < bytes.Length; i += 3, j += 4)
        {
            pixels[j] = bytes[i]; pixels[j + 1] = bytes[i + 1]; pixels[j + 2] = bytes[i + 2]; pixels[j + 3] = 255;
        }
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.WriteBytes(path, data.AsSpan());
    }
}
