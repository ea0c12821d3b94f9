"""The image towers Tbar benchmarks, written for PyTorch 1.13 with the same shapes as src/Tbar/Models.

VisionTower mirrors Models/VisionTower.cs + Transformer.cs (pre-norm blocks, fused q/k/v, QuickGELU, class token,
ln_post on it, @ proj); ResNetTower mirrors Models/ResNetTower.cs (CNTK's asymmetric pads, frozen BatchNorm,
2-2-2-3 basic blocks). Weights are random: only the speed is compared.
"""
import torch
import torch.nn.functional as F
from torch import nn


class QuickGelu(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    """x + attn(ln_1(x)), then x + mlp(ln_2(x)); attention is PyTorch's own nn.MultiheadAttention (fused q/k/v)."""

    def __init__(self, width, heads, mlp_width):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, mlp_width), QuickGelu(), nn.Linear(mlp_width, width))

    def forward(self, x):
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class VisionTower(nn.Module):
    """(B, 3, S, S) → (B, embed): patch conv, [class; patches] + positions, ln_pre, blocks, ln_post(class) @ proj."""

    def __init__(self, image_size, patch, width, layers, heads, mlp_width, embed):
        super().__init__()
        grid = image_size // patch
        self.conv1 = nn.Conv2d(3, width, patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(width) * width ** -0.5)
        self.positional_embedding = nn.Parameter(torch.randn(grid * grid + 1, width) * 0.01)
        self.ln_pre = nn.LayerNorm(width)
        self.blocks = nn.Sequential(*[Block(width, heads, mlp_width) for _ in range(layers)])
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.randn(width, embed) * width ** -0.5)

    def forward(self, images):
        patches = self.conv1(images).flatten(2).transpose(1, 2)                   # (B, grid², W)
        cls = self.class_embedding.view(1, 1, -1).expand(patches.shape[0], 1, -1)
        x = self.ln_pre(torch.cat([cls, patches], 1) + self.positional_embedding)
        x = self.blocks(x)
        return self.ln_post(x[:, 0]) @ self.proj


class FrozenBatchNorm(nn.Module):
    """BatchNorm with stored statistics in training too; scale and shift are parameters."""

    def __init__(self, width):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(width))
        self.bias = nn.Parameter(torch.zeros(width))
        self.register_buffer("running_mean", torch.zeros(width))
        self.register_buffer("running_var", torch.ones(width))

    def forward(self, x):
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, 1e-5)


class ConvBn(nn.Module):
    """Explicit (left, right, top, bottom) zero pad, bias-free conv, frozen BatchNorm."""

    def __init__(self, cin, cout, kernel, stride, pad):
        super().__init__()
        self.pad = pad
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, bias=False)
        self.bn = FrozenBatchNorm(cout)

    def forward(self, x):
        if any(self.pad):
            x = F.pad(x, self.pad)
        return self.bn(self.conv(x))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, down):
        super().__init__()
        self.conv1 = ConvBn(cin, cout, 3, 2 if down else 1, [1, 0, 1, 0] if down else [1, 1, 1, 1])
        self.conv2 = ConvBn(cout, cout, 3, 1, [1, 1, 1, 1])
        self.shortcut = ConvBn(cin, cout, 1, 2, [0, 0, 0, 0]) if down else None

    def forward(self, x):
        main = self.conv2(F.relu(self.conv1(x)))
        return F.relu(main + (self.shortcut(x) if self.shortcut is not None else x))


class ResNetTower(nn.Module):
    """rn18-clip's tower: 7×7/2 stem (pads 3 before, 2 after), 3×3/2 max-pool padded before only, stages, mean, @ proj."""

    def __init__(self, blocks=(2, 2, 2, 3), widths=(64, 128, 256, 512), embed=64):
        super().__init__()
        self.stem = ConvBn(3, widths[0], 7, 2, [3, 2, 3, 2])
        layers, cin = [], widths[0]
        for s, (n, w) in enumerate(zip(blocks, widths)):
            for b in range(n):
                layers.append(BasicBlock(cin, w, b == 0 and s > 0))
                cin = w
        self.blocks = nn.Sequential(*layers)
        self.proj = nn.Parameter(torch.randn(widths[-1], embed) * widths[-1] ** -0.5)

    def forward(self, images):
        x = F.relu(self.stem(images))
        x = F.max_pool2d(F.pad(x, [1, 0, 1, 0], value=float("-inf")), 3, 2)
        return self.blocks(x).mean([2, 3]) @ self.proj


# name → (tower factory, input side, embed width); the shapes of Tbar's mini-CLIP, ViT-B/32 and rn18-clip.
MODELS = {
    "mini-clip": (lambda: VisionTower(28, 7, 128, 4, 4, 512, 64), 28, 64),
    "vit-b-32": (lambda: VisionTower(224, 32, 768, 12, 12, 3072, 512), 224, 512),
    "rn18-clip": (lambda: ResNetTower(), 64, 64),
}
