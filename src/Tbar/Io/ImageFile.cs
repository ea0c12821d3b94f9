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
        return Resize(image, height, width);
    }

    /// <summary>(3, H0, W0) in [0,1] stretched to exactly H×W (bilinear, antialiased), as <see cref="LoadResized"/>.</summary>
    public static Tensor Resize(Tensor image, long height, long width)
    {
        using var scope = NewDisposeScope();
        return nn.functional.interpolate(image.unsqueeze(0), [height, width], mode: InterpolationMode.Bilinear, align_corners: false,
            antialias: true).squeeze(0).clamp(0, 1).MoveToOuterDisposeScope();
    }

    /// <summary>Largest accepted side of an image file, in pixels (checked from the header, before any pixel memory).</summary>
    public const int MaxSide = 8192;
    /// <summary>Largest accepted pixel count (64 MP: 256 MB of RGBA), checked from the header before decoding.</summary>
    public const long MaxPixels = 64_000_000;

    /// <summary>Decodes to RGBA8888 unpremultiplied bytes; an unreadable, oversized or truncated file is an error naming it.</summary>
    public static byte[] DecodeRgba(string path, out int height, out int width)
    {
        if (!File.Exists(path)) throw new TbarException($"{path}: image file not found");
        using var stream = File.OpenRead(path);
        return DecodeRgba(stream, path, out height, out width);
    }

    /// <summary>As <see cref="DecodeRgba(string, out int, out int)"/>, from a stream; <paramref name="path"/> names it in errors.</summary>
    public static byte[] DecodeRgba(Stream stream, string path, out int height, out int width)
    {
        using var data = SKData.Create(stream) ?? throw new TbarException($"{path}: cannot read the image file");
        using var codec = SKCodec.Create(data)
            ?? throw new TbarException($"{path}: not a decodable image (PNG, JPEG, GIF, BMP, WebP, ...)");
        (width, height) = (codec.Info.Width, codec.Info.Height);
        CheckSize(path, width, height);
        // Ask the decoder for straight (unpremultiplied) RGBA so colour values survive transparency untouched.
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var pixels = new byte[info.BytesSize64];
        var result = DecodeInto(codec, info, pixels);
        if (result != SKCodecResult.Success)
            throw new TbarException($"{path}: image data is corrupt or truncated ({result})");
        return pixels;
    }

    /// <summary>Throws unless a W×H image fits the decode bounds.</summary>
    public static void CheckSize(string path, long width, long height)
    {
        if (width < 1 || height < 1) throw new TbarException($"{path}: image header claims {width}×{height} pixels");
        if (width > MaxSide || height > MaxSide || width * height > MaxPixels)
            throw new TbarException($"{path}: image header claims {width}×{height} pixels; the limit is {MaxSide} per side and " +
                $"{MaxPixels / 1_000_000} MP");
    }

    static SKCodecResult DecodeInto(SKCodec codec, SKImageInfo info, byte[] pixels)
    {
        var pinned = System.Runtime.InteropServices.GCHandle.Alloc(pixels, System.Runtime.InteropServices.GCHandleType.Pinned);
        try
        {
            return codec.GetPixels(info, pinned.AddrOfPinnedObject());
        }
        finally
        {
            pinned.Free();
        }
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
        var bytes = chw.mul(255).round().clamp(0, 255).to(ScalarType.Byte).permute(1, 2, 0).cpu().contiguous().data<byte>().ToArray();
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
