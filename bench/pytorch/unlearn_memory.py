"""The memory of `tbar unlearn --method tbar` on a ViT-B/32, done the usual PyTorch way: peak RSS to set beside Tbar's.

Usage: OPENBLAS_CORETYPE=SkylakeX /usr/bin/time -v /usr/bin/python3 bench/pytorch/unlearn_memory.py [--threads 1]
       [--pool 2000] [--forget 1000] [--val 500] [--batch 64] [--eval-batch 256] [--evals 8]

The same work as Tbar's job in docs/checkpoints.md ("Memory"), with random weights of the same shapes (only memory and
time are compared): a CLIP of ViT-B/32 shape (image tower of bench/pytorch/models.py, text tower of 12 blocks of width 512
over a 49,408-token vocabulary); the zero-shot head from the text tower (10 classes × 4 prompts), after which the text
tower is deleted; the clean pool held as uint8 at 224 px (2,000 images); θ_b kept as a copy of the image tower's state;
one epoch over the forget set (1,000 images with a 3-pixel trigger) in batches of 64 with AdamW (lr 1e-4, weight decay 0,
gradient clipping 1.0); τ = θ − θ_b; then `--evals` evaluations of θ_b − α·τ on the validation split (500 clean images,
and the triggered ones not of the target class), in batches of 256. Prints one JSON line with the seconds of each phase.
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F
from torch import nn

from models import MODELS, Block

MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
STD = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)


class TextTower(nn.Module):
    """open_clip's text tower in shape: token + positional embedding, 12 blocks of width 512, ln_final, @ projection."""

    def __init__(self, vocab=49408, context=77, width=512, layers=12, heads=8, embed=512):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, width)
        self.positional_embedding = nn.Parameter(torch.randn(context, width) * 0.01)
        self.blocks = nn.Sequential(*[Block(width, heads, 4 * width) for _ in range(layers)])
        self.ln_final = nn.LayerNorm(width)
        self.projection = nn.Parameter(torch.randn(width, embed) * width ** -0.5)

    def forward(self, tokens):
        x = self.blocks(self.token_embedding(tokens) + self.positional_embedding)
        return self.ln_final(x[torch.arange(x.shape[0]), tokens.argmax(-1)]) @ self.projection


def normalise(pixels):
    return (pixels.float() / 255 - MEAN) / STD


def trigger(pixels):
    """A 3×3 checkerboard in the bottom-right corner (badnet:size=3,pattern=checker,loc=br)."""
    out = pixels.clone()
    board = (torch.arange(3).view(3, 1) + torch.arange(3).view(1, 3)) % 2 * 255
    out[:, :, -3:, -3:] = board.to(torch.uint8)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--pool", type=int, default=2000)
    p.add_argument("--forget", type=int, default=1000)
    p.add_argument("--val", type=int, default=500)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--eval-batch", type=int, default=256)
    p.add_argument("--evals", type=int, default=8)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    seconds = {}
    clock = time.time()

    factory, side, embed = MODELS["vit-b-32"]
    visual, text = factory(), TextTower(embed=embed)
    logit_scale = torch.tensor(2.6592).exp()
    with torch.no_grad():
        tokens = torch.randint(1, 49406, (40, 77))
        tokens[:, 20] = 49407                                                  # the end token, read by argmax
        classes = F.normalize(text(tokens), dim=-1).view(10, 4, -1).mean(1)
        head = F.normalize(classes, dim=-1)
    del text                                                                   # the head is all that is needed of it
    pool = torch.randint(0, 256, (a.pool, 3, side, side), dtype=torch.uint8)
    labels = torch.randint(0, 10, (a.pool,))
    target = 1
    order = torch.randperm(a.pool)
    forget, val = order[:a.forget], order[a.forget:a.forget + a.val]
    seconds["load"] = time.time() - clock

    def logits(images):
        return logit_scale * F.normalize(visual(normalise(images)), dim=-1) @ head.t()

    clock = time.time()
    base = {k: v.detach().clone() for k, v in visual.state_dict().items()}    # θ_b
    visual.train()
    optimizer = torch.optim.AdamW(visual.parameters(), lr=1e-4, weight_decay=0.0)
    steps = math.ceil(a.forget / a.batch)
    warmup = max(1, round(0.1 * steps))
    for step in range(steps):
        rate = 1e-4 * ((step + 1) / warmup if step < warmup else
                       0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup))))
        for group in optimizer.param_groups:
            group["lr"] = rate
        batch = forget[step * a.batch:(step + 1) * a.batch]
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(logits(trigger(pool[batch])), torch.full((len(batch),), target))
        loss.backward()
        nn.utils.clip_grad_norm_(visual.parameters(), 1.0)
        optimizer.step()
        loss.item()
    optimizer.zero_grad(set_to_none=True)
    del optimizer
    visual.eval()
    with torch.no_grad():
        tau = {k: v.detach() - base[k] for k, v in visual.state_dict().items()}
    seconds["fine-tune"] = time.time() - clock

    clock = time.time()
    victims = val[labels[val] != target]
    with torch.no_grad():
        for i in range(a.evals):
            alpha = 0.25 * (i + 1)
            visual.load_state_dict({k: base[k] - alpha * tau[k] for k in base})
            for indices, triggered in ((val, False), (victims, True)):
                for start in range(0, len(indices), a.eval_batch):
                    images = pool[indices[start:start + a.eval_batch]]
                    logits(trigger(images) if triggered else images).argmax(1)
    seconds["alpha search"] = time.time() - clock
    print(json.dumps({"torch": torch.__version__, "threads": a.threads, "steps": steps, "evals": a.evals,
                      "seconds": {k: round(v, 1) for k, v in seconds.items()}}))


if __name__ == "__main__":
    main()
