"""One timed case on the PyTorch side, printed as one JSON line in the schema of `Tbar.Bench case`.

Usage: python3 bench/pytorch/case.py --model mini-clip|vit-b-32|rn18-clip|matmul --kind forward|train|eval
       [--batch N] [--iters 5] [--threads 2]
Forward: no-grad tower on random normalised images. Train: zero_grad, cross-entropy of a fixed 10-class head on
scale·cos, backward, clip_grad_norm_(1.0), AdamW(lr 1e-5, wd 0.1), loss.item(). Eval: 4 batches of uint8 pixels
(Fashion-MNIST's 1×28×28 for mini-CLIP and rn18-clip, 3×224×224 for ViT-B/32) → float, 3 channels, resize (rn18-clip:
28 → 64 bicubic), normalise, tower, head, argmax, per batch.
"""
import argparse
import json
import os
import time

import torch
import torch.nn.functional as F

from models import MODELS

MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(3, 1, 1)
STD = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(3, 1, 1)
DEFAULT_BATCH = {("mini-clip", "forward"): 500, ("mini-clip", "train"): 64, ("vit-b-32", "eval"): 32, ("rn18-clip", "eval"): 64,
                 ("vit-b-32", "forward"): 32, ("vit-b-32", "train"): 32, ("rn18-clip", "forward"): 256,
                 ("rn18-clip", "train"): 64}


def runs(iters, fn, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


class Head:
    """A fixed 10-class zero-shot-style head: exp(logit_scale) · cos(image, class)."""

    def __init__(self, embed):
        self.weights = F.normalize(torch.randn(10, embed, generator=torch.Generator().manual_seed(1)), dim=-1)
        self.scale = torch.tensor(2.6592).exp()

    def logits(self, embeddings):
        return F.normalize(embeddings, dim=-1) @ self.weights.t() * self.scale


def forward(tower, side, embed, batch, iters):
    tower.eval()
    images = torch.randn(batch, 3, side, side, generator=torch.Generator().manual_seed(0))

    def run():
        with torch.no_grad():
            tower(images)
    return runs(iters, run)


def train(tower, side, embed, batch, iters):
    tower.train()
    gen = torch.Generator().manual_seed(0)
    images, labels = torch.randn(batch, 3, side, side, generator=gen), torch.randint(0, 10, (batch,), generator=gen)
    head = Head(embed)
    params = list(tower.parameters())
    optimizer = torch.optim.AdamW(params, lr=1e-5, weight_decay=0.1)

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(head.logits(tower(images)), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        loss.item()
    return runs(iters, step, warmup=2)


def evaluate(tower, side, embed, name, batch, iters):
    tower.eval()
    batches = 4
    channels, stored = (3, side) if name == "vit-b-32" else (1, 28)
    pixels = torch.randint(0, 256, (batch * batches, channels, stored, stored), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(0))
    head = Head(embed)

    def run():
        with torch.no_grad():
            for start in range(0, pixels.shape[0], batch):
                x = pixels.index_select(0, torch.arange(start, start + batch)).float().div_(255)
                x = x.expand(-1, 3, -1, -1).contiguous() if x.shape[1] == 1 else x
                if x.shape[-1] != side:
                    x = F.interpolate(x, [side, side], mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)
                x = (x - MEAN) / STD
                head.logits(tower(x)).argmax(1).tolist()
    return [t / batches for t in runs(iters, run)]


def matmul(iters):
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(2048, 2048, generator=gen), torch.randn(2048, 2048, generator=gen)
    return runs(iters, lambda: x @ y)


def blas():
    """The BLAS this torch calls: Debian's libblas.so.3 alternative resolved, and the OpenBLAS core type asked for."""
    path = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    return {"library": path, "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE")}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="mini-clip")
    p.add_argument("--kind", default="train")
    p.add_argument("--batch", type=int)
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.model == "matmul":
        seconds = matmul(a.iters)
        median = sorted(seconds)[len(seconds) // 2]
        print(json.dumps({"side": "pytorch", "model": "matmul", "kind": "matmul", "threads": torch.get_num_threads(),
                          "gflops": 2 * 2048 ** 3 / median / 1e9, "seconds": seconds, "blas": blas()}))
        return
    make, side, embed = MODELS[a.model]
    tower = make()
    batch = a.batch or DEFAULT_BATCH.get((a.model, a.kind), 256)
    if a.kind == "forward":
        seconds = forward(tower, side, embed, batch, a.iters)
    elif a.kind == "train":
        seconds = train(tower, side, embed, batch, a.iters)
    else:
        seconds = evaluate(tower, side, embed, a.model, batch, a.iters)
    median = sorted(seconds)[len(seconds) // 2]
    print(json.dumps({"side": "pytorch", "model": a.model, "kind": a.kind, "batch": batch, "threads": torch.get_num_threads(),
                      "images_per_second": batch / median, "seconds_per_batch": median, "seconds": seconds,
                      "torch": torch.__version__, "blas": blas()}))


if __name__ == "__main__":
    main()
