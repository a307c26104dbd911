"""The prompt-adherence judge of a tiny SD model trained on the demo world.

A small multi-label CNN (:class:`TinyClassifier`) trained on real labelled
world images says which classes an image shows; single-class prompts in the
world's words (:func:`make_prompts`) are sampled with diffusers' own pipeline
(:func:`sample`); the share of samples in which the judge finds the prompted
class is the adherence, with its Wilson interval (:func:`wilson_interval`).
:func:`conditioning_check` measures, without sampling, whether the UNet uses
its text at all. The tool is ``projects/tiny_sd/tools/prompt_adherence.py``.
"""
import os
import os.path as osp
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mmdatasetdm.diffusion import tokenize
from mmdatasetdm.fileio import read_rgb, read_semantic
from projects.demo_world.demo_world import OBJECT_CLASSES, WorldLayout, read_caption_records
from projects.demo_world.demo_world.appearance import CLASS_COLOR_NAMES
from projects.demo_world.demo_world.prompts import colour_phrase, ground_phrases
from .unet import training_noise_scheduler

CLASSES = OBJECT_CLASSES
COLORS = CLASS_COLOR_NAMES
# the grounds of the pool's (default) domain; the shifted domain's are never captioned there
GROUNDS = tuple(ground_phrases('default'))
GRID_PROMPTS = ('a photo of a person in blue on grass', 'a photo of a red car on a road',
                'a photo of an orange cone on a road', 'a photo of a green tree on grass',
                'a photo of a yellow ball on sand')


def class_phrase(name: str, color: str) -> str:
    """The caption phrase of one object, as the world's captions write it."""
    if name == 'person':
        return f'a person in {color}'
    return f'{colour_phrase(color)} {name}'


def make_prompts(per_class: int, seed: int):
    """``per_class`` single-class prompts per class.

    Returns:
        list[tuple[int, str]]: (class index, prompt).
    """
    rng = np.random.default_rng(seed)
    prompts = []
    for c, name in enumerate(CLASSES):
        for _ in range(per_class):
            color = COLORS[name][rng.integers(len(COLORS[name]))]
            ground = GROUNDS[rng.integers(len(GROUNDS))]
            prompts.append((c, f'a photo of {class_phrase(name, color)} {ground}'))
    return prompts


def wilson_interval(hits: int, n: int, z: float = 1.96):
    """The Wilson score interval of a rate ``hits / n`` (95% for ``z = 1.96``).

    Returns:
        tuple[float, float]: lower and upper bound.
    """
    if n <= 0:
        raise ValueError(f'a rate needs at least one trial, got n={n}')
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5
    return max(0.0, centre - half), min(1.0, centre + half)


def caption_classes(caption: str):
    """Indices of the classes a world caption names ("two people" -> person)."""
    import re
    words = {'person': ('person', 'people'), 'car': ('car',), 'cone': ('cone',),
             'tree': ('tree',), 'ball': ('ball',)}
    return [c for c, name in enumerate(CLASSES)
            if any(re.search(rf'\b{w}s?\b', caption) for w in words[name])]


# mid-trajectory noise levels, where the text should decide what an object becomes
CONDITIONING_TIMESTEPS = (300, 500, 700)


@torch.no_grad()
def conditioning_check(pipe, root: str, split: str, num_images: int,
                       timesteps=CONDITIONING_TIMESTEPS, seed: int = 0, min_pixels: int = 32):
    """How much does the caption that names an object lower the UNet's error on it?

    For each of the first ``num_images`` labelled images of ``split`` and each
    class with at least ``min_pixels`` mask pixels that one of the image's
    one-class ``alt_captions`` names, the image's latent is noised at each of
    ``timesteps`` and the noise is predicted three times: with that caption,
    with the empty prompt, and with a caption that names a class absent from
    the image (same ground). The squared error inside the object's mask
    (area-resized to the latent grid) is averaged per class. A model that
    uses its text has a clearly lower error with the naming caption; no
    sampling and no judge are involved. A ``v_prediction`` model's output is
    converted to the noise it implies, so both kinds compare alike.

    Returns:
        dict: class -> dict(named, empty, other (mean errors), gain (% of the
        empty-prompt error the naming caption removes), count (objects)).
    """
    noise_scheduler = training_noise_scheduler(pipe.scheduler)
    v_prediction = noise_scheduler.config.prediction_type == 'v_prediction'
    generator = torch.Generator().manual_seed(seed)
    layout = WorldLayout(root)
    records = read_caption_records(layout.captions(split))[:num_images]
    errors = {name: dict(named=[], empty=[], other=[]) for name in CLASSES}
    for record in records:
        stem = osp.splitext(osp.basename(record['file_name']))[0]
        image = read_rgb(osp.join(root, record['file_name']))
        mask = torch.from_numpy(read_semantic(
            osp.join(root, layout.rel_semantic_dir(split), stem + '.png')).astype(np.int64))
        present = [int((mask == c + 1).sum()) for c in range(len(CLASSES))]
        absent = [c for c in range(len(CLASSES)) if present[c] == 0]
        x = torch.from_numpy(image.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1
        latent = pipe.vae.encode(x).latent_dist.mean * pipe.vae.config.scaling_factor
        ground = next((g for g in GROUNDS if g in record['caption']), '')
        for c, name in enumerate(CLASSES):
            naming = [a for a in record.get('alt_captions', []) if caption_classes(a) == [c]]
            if present[c] < min_pixels or not naming or not absent:
                continue
            other = CLASSES[absent[0]]
            prompts = [naming[0], '', f'a photo of {class_phrase(other, COLORS[other][0])} '
                                      f'{ground}'.strip()]
            text = pipe.text_encoder(tokenize(pipe.tokenizer, prompts))[0]
            region = F.interpolate((mask == c + 1).float()[None, None], size=latent.shape[-2:],
                                   mode='area')
            for t in timesteps:
                noise = torch.randn(latent.shape, generator=generator)
                noisy = noise_scheduler.add_noise(latent, noise, torch.tensor([t]))
                pred = pipe.unet(noisy.expand(3, -1, -1, -1), torch.tensor([t] * 3),
                                 encoder_hidden_states=text).sample
                if v_prediction:  # v = a * noise - s * x0, so noise = a * v + s * x_t
                    alpha_bar = noise_scheduler.alphas_cumprod[t]
                    pred = alpha_bar.sqrt() * pred + (1 - alpha_bar).sqrt() * noisy
                err = ((pred - noise) ** 2).mean(1, keepdim=True)
                per_prompt = (err * region).sum((1, 2, 3)) / region.sum()
                for kind, value in zip(('named', 'empty', 'other'), per_prompt.tolist()):
                    errors[name][kind].append(value)
    result = {}
    for name, kinds in errors.items():
        if not kinds['named']:
            continue
        means = {k: float(np.mean(v)) for k, v in kinds.items()}
        result[name] = dict(**means, gain=100 * (means['empty'] - means['named']) / means['empty'],
                            count=len(kinds['named']) // len(timesteps))
    return result


# ----------------------------------------------------------------------------
# the judge


class TinyClassifier(nn.Module):
    """A 4-stage CNN with global average + max pooling; one logit per class."""

    def __init__(self, num_classes: int = len(CLASSES), width: int = 32):
        super().__init__()
        layers, cin = [], 3
        for cout in (width, width * 2, width * 2, width * 4):
            layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.BatchNorm2d(cout),
                       nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, padding=1),
                       nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(cin * 2, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits, shape (B, num_classes), of images in [-1, 1], shape (B, 3, H, W)."""
        f = self.features(x)
        return self.head(torch.cat([f.mean((2, 3)), f.amax((2, 3))], 1))


def load_labelled(world: str, split: str, min_pixels: int, limit: Optional[int] = None):
    """Images (uint8, (N, 3, H, W)) and multi-hot labels ((N, C)) of a split.

    ``limit`` keeps the first images only (all when None).
    """
    layout = WorldLayout(world)
    image_dir = osp.join(world, layout.rel_image_dir(split))
    sem_dir = osp.join(world, layout.rel_semantic_dir(split))
    if not osp.isdir(sem_dir):
        raise FileNotFoundError(
            f'{sem_dir} not found; make a labelled split first, e.g. '
            f'projects/demo_world/tools/make_demo_world.py --out {world} --splits {split}')
    names = sorted(os.listdir(sem_dir))[:limit]
    images, labels = [], []
    for name in names:
        stem = osp.splitext(name)[0]
        image_file = [f for f in (osp.join(image_dir, stem + ext) for ext in ('.png', '.jpg'))
                      if osp.isfile(f)][0]
        images.append(read_rgb(image_file))
        mask = read_semantic(osp.join(sem_dir, name))
        counts = np.bincount(mask.ravel(), minlength=256)
        labels.append([counts[c + 1] >= min_pixels for c in range(len(CLASSES))])
    images = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    return images, torch.tensor(labels, dtype=torch.float32)


def pool_like_world(world: dict, work_dir: str, num_train: int = 2000,
                    num_test: int = 500) -> str:
    """Labelled images drawn like the unlabelled pool, for training and testing the judge.

    The labelled splits of the world are long-tailed (few cones and balls), so a
    judge trained on them misses rare classes; the generator learned from the
    pool, where every class is common. These splits (``judge_train``,
    ``num_train`` images; ``judge_test``, ``num_test``) take the pool's domain and class
    frequency and the world's seed and size, and are written once under
    ``work_dir`` (again only when more training images are asked for; every
    image's content depends on its split, index and seed only).

    Args:
        world (dict): The world's ``meta.json``.
        work_dir (str): Where the judge's world goes.
        num_train (int): Images in ``judge_train``.
        num_test (int): Images in ``judge_test``.

    Returns:
        str: Its root folder.
    """
    from projects.demo_world.demo_world import SplitSpec, default_splits, generate_world
    root = osp.join(work_dir, f'judge_world{world["format_version"]}-{world["seed"]}')
    train_list = osp.join(root, 'splits', 'judge_train.txt')
    written = 0
    if osp.isfile(osp.join(root, 'splits', 'judge_test.txt')):
        with open(train_list) as f:
            written = sum(1 for line in f if line.strip())
    if written < num_train:
        pool = world['splits'].get('pool') or vars(default_splits()['pool'])
        like_pool = dict(domain=pool['domain'], class_frequency=pool['class_frequency'])
        generate_world(root, seed=world['seed'], size=(world['height'], world['width']),
                       splits={'judge_train': SplitSpec(num_train, **like_pool),
                               'judge_test': SplitSpec(num_test, **like_pool)},
                       workers=2, progress=False)
    return root


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Flips, small shifts, brightness/contrast jitter and random blur."""
    b = x.shape[0]
    flip = torch.rand(b, generator=generator) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    dx, dy = (int(v) for v in torch.randint(-4, 5, (2,), generator=generator))
    x = torch.roll(x, (dy, dx), (2, 3))
    gain = 1 + 0.2 * (torch.rand(b, 1, 1, 1, generator=generator) - 0.5)
    bias = 0.2 * (torch.rand(b, 1, 1, 1, generator=generator) - 0.5)
    x = x * gain + bias
    blur = torch.rand(b, generator=generator) < 0.5  # generated images are softer
    soft = F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode='bilinear',
                         align_corners=False)
    return torch.where(blur[:, None, None, None], soft, x)


def train_classifier(images, labels, steps: int = 1500, batch_size: int = 64, seed: int = 0,
                     log=print) -> TinyClassifier:
    """Train the judge on uint8 images and multi-hot labels."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = TinyClassifier()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    model.train()
    for step in range(steps):
        index = torch.randint(len(images), (batch_size,), generator=generator)
        x = augment(images[index].float() / 127.5 - 1, generator)
        loss = F.binary_cross_entropy_with_logits(model(x), labels[index])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % 100 == 0:
            log(f'  classifier step {step + 1}/{steps} loss {loss.item():.4f}')
    return model.eval()


@torch.no_grad()
def predict(model, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Class probabilities, shape (N, C), of uint8 images (N, 3, H, W)."""
    out = [torch.sigmoid(model(images[i:i + batch_size].float() / 127.5 - 1))
           for i in range(0, len(images), batch_size)]
    return torch.cat(out)


# ----------------------------------------------------------------------------
# sampling


@torch.no_grad()
def sample(pipe, prompts, seeds, steps: int, guidance: float, batch_size: int = 10,
           guidance_rescale: float = 0.0):
    """uint8 images (N, 3, H, W), one per (prompt, seed), from diffusers' pipeline."""
    out = []
    for i in range(0, len(prompts), batch_size):
        gens = [torch.Generator().manual_seed(int(s)) for s in seeds[i:i + batch_size]]
        result = pipe(list(prompts[i:i + batch_size]), num_inference_steps=steps,
                      guidance_scale=guidance, guidance_rescale=guidance_rescale,
                      generator=gens, output_type='np')
        out.append(torch.from_numpy((result.images * 255).round().astype(np.uint8)))
    return torch.cat(out).permute(0, 3, 1, 2).contiguous()


def save_grid(path: str, images: torch.Tensor, rows: int, labels=None, scale: int = 2):
    """Write uint8 images (N, 3, H, W) as a grid with ``rows`` rows."""
    from PIL import Image, ImageDraw
    n, _, h, w = images.shape
    cols = (n + rows - 1) // rows
    label_w = 0 if labels is None else 190
    canvas = Image.new('RGB', (label_w + cols * w * scale, rows * h * scale), 'white')
    draw = ImageDraw.Draw(canvas)
    for i in range(n):
        r, c = divmod(i, cols)
        tile = Image.fromarray(images[i].permute(1, 2, 0).numpy()).resize(
            (w * scale, h * scale), Image.NEAREST)
        canvas.paste(tile, (label_w + c * w * scale, r * h * scale))
    for r, text in enumerate(labels or []):
        words, lines = text.split(), ['']
        for word in words:
            lines[-1] += ('' if not lines[-1] else ' ') + word
            if len(lines[-1]) > 24:
                lines.append('')
        draw.multiline_text((4, r * h * scale + 4), '\n'.join(lines), fill='black')
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    canvas.save(path)
