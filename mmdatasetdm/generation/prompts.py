"""Prompt sources and the deterministic prompt sampler of the generation engine.

A *prompt source* knows how to write a prompt that names a given class:
:class:`TemplatePrompts` fills templates with class names, sub-types and
scenes; :class:`PromptFile` picks lines of a prompt file (e.g. written by an
LLM, as the paper did with GPT-4); :class:`LanguageModelPrompts` lets a local
causal language model continue a template (and falls back to templates when no
model folder is given).

:class:`PromptSampler` turns a source into an indexable sequence of
:class:`PromptRecord`: record ``i`` is a pure function of ``(seed, i)``; it does
not depend on the worker, the rank or the order in which records are asked
for, so sharded generation makes the same data as one process. Which class
prompt ``i`` is about comes from a :class:`ClassSampler` (exactly balanced by
default; per-class quotas, weights, or long-tail-aware weights from real class
counts).

All sources and the sampler are registered in
:data:`mmdatasetdm.registry.PROMPTS`, e.g.::

    prompts = dict(
        type='mmdatasetdm.PromptSampler', seed=0, num_prompts=40000,
        source=dict(type='mmdatasetdm.TemplatePrompts', classes=['cat', 'dog'],
                    templates=['a photo of a {attr} {cls} {scene}'],
                    attributes=dict(dog=['corgi', 'black']),
                    fields=dict(scene=['on grass', 'in a kitchen'])),
        class_sampling=dict(class_counts=dict(cat=90, dog=10), power=0.0))
"""
import os.path as osp
import re
import string
import warnings
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from mmdatasetdm.registry import PROMPTS

# Independent random streams derived from (base seed, index); never reuse one
# stream for two purposes, so that changing how prompts are written never
# changes the image seeds.
_STREAM_IMAGE = 0
_STREAM_PROMPT = 1
_STREAM_QUOTA_BLOCK = 2
_STREAM_LANGUAGE_MODEL = 3


def _check_seed(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f'{name} must be a non-negative integer, got {value!r}')
    return int(value)


def sample_seed(base_seed: int, index: int) -> int:
    """The seed of sample ``index`` (its initial noise), from the run's base seed.

    It depends only on ``(base_seed, index)`` — never on the worker or rank —
    so the data do not depend on how many processes made them, and workers
    never duplicate each other (the official code seeded every worker 42).

    Args:
        base_seed (int): the run's seed (non-negative).
        index (int): the global sample index (non-negative).

    Returns:
        int: a seed in ``[0, 2**32)``.
    """
    return int(_seed_sequence(base_seed, _STREAM_IMAGE, index).generate_state(1)[0])


def _seed_sequence(base_seed: int, stream: int, *keys: int) -> np.random.SeedSequence:
    base_seed = _check_seed(base_seed, 'seed')
    keys = tuple(_check_seed(k, 'index') for k in keys)
    return np.random.SeedSequence(base_seed, spawn_key=(stream, ) + keys)


def _rng(base_seed: int, stream: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng(_seed_sequence(base_seed, stream, *keys))


@dataclass(frozen=True)
class PromptRecord:
    """One prompt of the generation run.

    Attributes:
        index (int): the global sample index.
        text (str): the prompt.
        classes (tuple[str]): canonical names of the classes the text names,
            in order of first appearance.
        seed (int): the sample's seed (see :func:`sample_seed`).
        target (str, optional): the class the class sampler asked for (one of
            ``classes``), None when prompts were not drawn per class.
        words (dict[str, list[str]]): class -> the words of the text that name
            it (e.g. ``{'dog': ['dogs']}``).
        token_positions (dict[str, list[int]], optional): class -> positions of
            its words' tokens in the tokenised prompt (position 0 is the start
            token); None when no tokenizer was given.
        num_tokens (int, optional): the prompt's length in tokens before the
            text encoder's cut (start and end tokens included); None when no
            tokenizer was given.
        truncated (tuple[str]): classes the text names only past the text
            encoder's cut, so the model never reads their words.
    """
    index: int
    text: str
    classes: Tuple[str, ...]
    seed: int
    target: Optional[str] = None
    words: Dict[str, List[str]] = field(default_factory=dict)
    token_positions: Optional[Dict[str, List[int]]] = None
    num_tokens: Optional[int] = None
    truncated: Tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """A JSON-serialisable dict (for the manifest)."""
        out = dict(index=self.index, prompt=self.text, classes=list(self.classes), seed=self.seed,
                   target=self.target, words={k: list(v) for k, v in self.words.items()})
        if self.token_positions is not None:
            out['token_positions'] = {k: list(v) for k, v in self.token_positions.items()}
        if self.truncated:
            out['truncated'] = list(self.truncated)
        return out


class ClassMatcher:
    """Finds the classes a text names, by class names and synonyms.

    Matching is case-insensitive, on word boundaries (``cat`` does not match
    ``category``), accepts plural ``s``/``es`` and any whitespace inside
    multi-word names. Longer names win over shorter overlapping ones
    (``potted plant`` before ``plant``). A name with underscores
    (``potted_plant``) is also matched with spaces.

    Args:
        classes (Sequence[str]): canonical class names.
        synonyms (Mapping[str, Sequence[str]], optional): class -> extra words
            naming it (e.g. ``{'aeroplane': ['airplane', 'plane']}``).
    """

    def __init__(self,
                 classes: Sequence[str],
                 synonyms: Optional[Mapping[str, Sequence[str]]] = None):
        self.classes = _check_classes(classes)
        synonyms = dict(synonyms or {})
        unknown = sorted(set(synonyms) - set(self.classes))
        if unknown:
            raise ValueError(
                f'synonyms name unknown classes {unknown}; known classes: {list(self.classes)}')
        self.words: Dict[str, List[str]] = {}
        owner: Dict[str, str] = {}
        for cls in self.classes:
            words = []
            for word in [cls, cls.replace('_', ' ')] + list(synonyms.get(cls, [])):
                word = ' '.join(str(word).lower().split())
                if not word:
                    raise ValueError(f'class {cls!r} has an empty synonym')
                if word in owner and owner[word] != cls:
                    raise ValueError(
                        f'the word {word!r} names two classes: {owner[word]!r} and {cls!r}')
                owner[word] = cls
                if word not in words:
                    words.append(word)
            self.words[cls] = words
        # Longest first so that the regex alternation prefers 'potted plant' over 'plant'.
        ordered = sorted(owner, key=lambda w: (-len(w), w))
        self._owner = owner
        alternatives = '|'.join(r'\s+'.join(re.escape(p) for p in w.split(' ')) for w in ordered)
        self._pattern = re.compile(rf'(?<![0-9a-z])({alternatives})(?:e?s)?(?![0-9a-z])',
                                   re.IGNORECASE)

    def find(self, text: str) -> Dict[str, List[str]]:
        """The classes named in ``text``.

        Args:
            text (str): a prompt.

        Returns:
            dict[str, list[str]]: class -> the surface words naming it, in
            order of first appearance (classes and words alike).
        """
        found: Dict[str, List[str]] = {}
        for match in self._pattern.finditer(text):
            cls = self._owner[' '.join(match.group(1).lower().split())]
            surface = match.group(0)
            words = found.setdefault(cls, [])
            if surface not in words:
                words.append(surface)
        return found


def _check_classes(classes: Sequence[str]) -> Tuple[str, ...]:
    if isinstance(classes, str) or not classes:
        raise ValueError(f'classes must be a non-empty list of class names, got {classes!r}')
    classes = tuple(str(c) for c in classes)
    duplicates = sorted({c for c in classes if classes.count(c) > 1})
    if duplicates:
        raise ValueError(f'classes must be unique, repeated: {duplicates}')
    return classes


class ClassSampler:
    """Which class prompt ``i`` is about; a pure function of ``(seed, i)``.

    Modes (first that applies):

    * ``quotas``: per-class counts per block of ``sum(quotas)`` consecutive
      indices; each block is a seeded permutation of the quota list, so every
      full block holds exactly the quotas (classes with quota 0 never appear).
    * ``weights`` or ``class_counts``: class probabilities. Long-tail aware:
      with ``class_counts`` (e.g. instances per class in the real data) the
      weight of a class is ``count ** power`` — ``power=1`` copies the real
      distribution, ``0`` balances, ``-1`` is inverse frequency (rare classes
      oversampled). With ``block_size`` the weights become exact quotas per
      block (largest-remainder rounding); otherwise classes are drawn
      independently per index.
    * default: exactly balanced, every block of ``len(classes)`` consecutive
      indices holds every class once.

    Args:
        classes (Sequence[str]): class names.
        seed (int): base seed.
        quotas (Mapping[str, int], optional): class -> count per block.
        weights (Mapping[str, float], optional): class -> relative weight.
        class_counts (Mapping[str, float], optional): class -> frequency in
            the real data (positive).
        power (float): exponent applied to ``class_counts``.
        block_size (int, optional): turn weights into per-block quotas.
    """

    def __init__(self,
                 classes: Sequence[str],
                 seed: int = 0,
                 quotas: Optional[Mapping[str, int]] = None,
                 weights: Optional[Mapping[str, float]] = None,
                 class_counts: Optional[Mapping[str, float]] = None,
                 power: float = 0.0,
                 block_size: Optional[int] = None):
        self.classes = _check_classes(classes)
        self.seed = _check_seed(seed, 'seed')
        given = [
            n for n, v in (('quotas', quotas), ('weights', weights), ('class_counts', class_counts))
            if v is not None
        ]
        if len(given) > 1:
            raise ValueError(f'give at most one of quotas, weights, class_counts; got {given}')
        self.probabilities: Optional[np.ndarray] = None
        if quotas is not None:
            counts = self._per_class(quotas, 'quotas')
            if any(c != int(c) or c < 0 for c in counts):
                raise ValueError(f'quotas must be non-negative integers, got {dict(quotas)}')
            self.quotas = [int(c) for c in counts]
        elif weights is not None or class_counts is not None:
            if weights is not None:
                w = np.asarray(self._per_class(weights, 'weights'), dtype=np.float64)
            else:
                counts = np.asarray(self._per_class(class_counts, 'class_counts'), dtype=np.float64)
                if np.any(counts <= 0):
                    raise ValueError(f'class_counts must be positive, got {dict(class_counts)}')
                w = counts**float(power)
            if np.any(w < 0) or not np.all(np.isfinite(w)) or w.sum() <= 0:
                raise ValueError(
                    f'class weights must be finite, >= 0 and not all 0, got {w.tolist()}')
            probabilities = w / w.sum()
            if block_size is None:
                self.probabilities = probabilities
                self.quotas = None
            else:
                self.quotas = _largest_remainder(probabilities, block_size)
        else:
            self.quotas = [1] * len(self.classes)
        if self.quotas is not None and sum(self.quotas) == 0:
            raise ValueError('quotas are all 0: no class could ever be sampled')
        self._block = np.repeat(np.arange(len(self.classes)), self.quotas) if self.quotas else None
        self._orders: Dict[int, np.ndarray] = {}

    def _per_class(self, values: Mapping[str, float], name: str) -> List[float]:
        values = dict(values)
        unknown = sorted(set(values) - set(self.classes))
        if unknown:
            raise ValueError(
                f'{name} name unknown classes {unknown}; known classes: {list(self.classes)}')
        return [values.get(c, 0) for c in self.classes]

    def _block_order(self, block: int) -> np.ndarray:
        order = self._orders.get(block)
        if order is None:
            if len(self._orders) >= 8:
                self._orders.clear()
            order = self._orders[block] = _rng(self.seed, _STREAM_QUOTA_BLOCK,
                                               block).permutation(self._block)
        return order

    def class_at(self, index: int) -> str:
        """The class of prompt ``index``.

        Args:
            index (int): the global sample index.

        Returns:
            str: a class name.
        """
        index = _check_seed(index, 'index')
        if self._block is not None:
            block, offset = divmod(index, len(self._block))
            return self.classes[int(self._block_order(block)[offset])]
        rng = _rng(self.seed, _STREAM_PROMPT, index)
        return self.classes[int(rng.choice(len(self.classes), p=self.probabilities))]


def _largest_remainder(probabilities: np.ndarray, total: int) -> List[int]:
    if isinstance(total, bool) or not isinstance(total, int) or total < 1:
        raise ValueError(f'block_size must be a positive integer, got {total!r}')
    raw = probabilities * total
    quotas = np.floor(raw).astype(int)
    order = sorted(range(len(raw)), key=lambda k: (-(raw[k] - quotas[k]), k))
    for k in order[:total - int(quotas.sum())]:
        quotas[k] += 1
    return quotas.tolist()


class BasePromptSource:
    """A source of prompts about classes.

    Subclasses implement :meth:`write`. The sampler passes them a class (or
    None when not sampling per class) and a seeded random generator, and
    finds the class words of the result with :attr:`matcher`.

    Args:
        classes (Sequence[str]): canonical class names.
        synonyms (Mapping[str, Sequence[str]], optional): extra words per class.
    """

    def __init__(self,
                 classes: Sequence[str],
                 synonyms: Optional[Mapping[str, Sequence[str]]] = None):
        self.matcher = ClassMatcher(classes, synonyms)
        self.classes = self.matcher.classes

    def content_identity(self) -> Optional[dict]:
        """What the prompts depend on besides the source's arguments (e.g. a
        file's content), for a generation run's identity; None when nothing.

        Returns:
            dict | None: JSON-serialisable.
        """
        return None

    def write(self, index: int, cls: Optional[str], rng: np.random.Generator) -> str:
        """Write prompt ``index``.

        Args:
            index (int): the global sample index.
            cls (str, optional): the class the prompt must name; None lets the
                source choose (e.g. a prompt file read in order).
            rng (np.random.Generator): seeded from ``(seed, index)``; the only
                randomness a source may use.

        Returns:
            str: the prompt.
        """
        raise NotImplementedError


_FORMATTER = string.Formatter()


def _template_fields(template: str) -> List[str]:
    return [name for _, name, _, _ in _FORMATTER.parse(template) if name is not None]


def _normalise_spaces(text: str) -> str:
    text = ' '.join(text.split())
    return re.sub(r'\s+([,.;:!?])', r'\1', text)


@PROMPTS.register_module()
class TemplatePrompts(BasePromptSource):
    """Prompts from templates with class names, per-class sub-types and scenes.

    A template names its slots with ``str.format`` fields: ``{cls}`` (required:
    the class word), ``{attr}`` (a per-class sub-type or attribute, from
    ``attributes``; empty if the class has none) and any name of ``fields``
    (options shared by all classes, e.g. ``scene``). Empty options collapse
    (``'a photo of a {attr} dog'`` with ``attr=''`` -> ``'a photo of a dog'``).

    Args:
        classes (Sequence[str]): canonical class names.
        templates (Sequence[str]): the templates; one is drawn per prompt.
        attributes (Mapping[str, Sequence[str]], optional): class -> sub-types
            (``{'dog': ['corgi', 'black']}``).
        fields (Mapping[str, Sequence[str]], optional): slot -> options.
        class_names (Mapping[str, str | Sequence[str]], optional): the word(s)
            written for ``{cls}`` (default: the class name, ``_`` as space);
            several -> one drawn per prompt. They also count as synonyms.
        synonyms (Mapping[str, Sequence[str]], optional): extra words that
            name a class when they appear in a rendered prompt.
    """

    def __init__(self,
                 classes: Sequence[str],
                 templates: Sequence[str] = ('a photo of a {attr} {cls}', ),
                 attributes: Optional[Mapping[str, Sequence[str]]] = None,
                 fields: Optional[Mapping[str, Sequence[str]]] = None,
                 class_names: Optional[Mapping[str, Union[str, Sequence[str]]]] = None,
                 synonyms: Optional[Mapping[str, Sequence[str]]] = None):
        classes = _check_classes(classes)
        class_names = {
            c: [v] if isinstance(v, str) else list(v)
            for c, v in dict(class_names or {}).items()
        }
        merged = {
            c: list(dict(synonyms or {}).get(c, [])) + class_names.get(c, [])
            for c in classes
        }
        unknown = sorted((set(class_names) | set(synonyms or {})) - set(classes))
        if unknown:
            raise ValueError(
                f'class_names/synonyms name unknown classes {unknown}; known: {list(classes)}')
        super().__init__(classes, merged)
        if isinstance(templates, str) or not templates:
            raise ValueError(f'templates must be a non-empty list of strings, got {templates!r}')
        self.fields = {str(k): [str(o) for o in v] for k, v in dict(fields or {}).items()}
        for name, options in self.fields.items():
            if name in ('cls', 'attr'):
                raise ValueError(f'fields may not redefine the reserved slot {{{name}}}')
            if not options:
                raise ValueError(f'fields[{name!r}] has no options')
        self.templates = [str(t) for t in templates]
        for template in self.templates:
            names = _template_fields(template)
            if 'cls' not in names:
                raise ValueError(f'template {template!r} has no {{cls}} slot for the class word')
            missing = sorted(set(names) - {'cls', 'attr'} - set(self.fields))
            if missing:
                raise ValueError(
                    f'template {template!r} uses slots {missing} that fields does not define '
                    f'(defined: {sorted(self.fields)})')
        attributes = dict(attributes or {})
        unknown = sorted(set(attributes) - set(classes))
        if unknown:
            raise ValueError(
                f'attributes name unknown classes {unknown}; known classes: {list(classes)}')
        self.attributes = {c: [str(a) for a in attributes.get(c, [])] or [''] for c in classes}
        self.class_names = {c: class_names.get(c) or [c.replace('_', ' ')] for c in classes}

    def write(self, index: int, cls: Optional[str], rng: np.random.Generator) -> str:
        if cls is None:
            cls = self.classes[int(rng.integers(len(self.classes)))]
        template = self.templates[int(rng.integers(len(self.templates)))]
        values = dict(cls=_pick(self.class_names[cls], rng), attr=_pick(self.attributes[cls], rng))
        for name in _template_fields(template):
            if name not in values:
                values[name] = _pick(self.fields[name], rng)
        return _normalise_spaces(template.format(**values))


def _pick(options: Sequence[str], rng: np.random.Generator) -> str:
    return options[int(rng.integers(len(options)))] if len(options) > 1 else options[0]


@PROMPTS.register_module()
class PromptFile(BasePromptSource):
    """Prompts read from a text file, one per line (e.g. written by an LLM).

    Blank lines and lines starting with ``#`` are skipped. Every other line
    must name at least one known class (by name or synonym), else the file is
    rejected with its path and line number. For a requested class, a line
    naming that class is drawn; without one (``class_sampling=None`` in the
    sampler) line ``index % num_lines`` is used.

    Args:
        path (str): the prompt file (UTF-8).
        classes (Sequence[str]): canonical class names.
        synonyms (Mapping[str, Sequence[str]], optional): extra words per class.
    """

    def __init__(self, path: str, classes: Sequence[str],
                 synonyms: Optional[Mapping[str, Sequence[str]]] = None):
        super().__init__(classes, synonyms)
        self.path = str(path)
        if not osp.isfile(self.path):
            raise FileNotFoundError(f'prompt file {self.path} does not exist')
        self.prompts: List[str] = []
        self.by_class: Dict[str, List[int]] = {c: [] for c in self.classes}
        with open(self.path, encoding='utf-8') as f:
            for lineno, line in enumerate(f, start=1):
                text = _normalise_spaces(line)
                if not text or text.startswith('#'):
                    continue
                found = self.matcher.find(text)
                if not found:
                    raise ValueError(
                        f'{self.path}:{lineno}: the prompt {text!r} names no known class '
                        f'(classes: {list(self.classes)}; add synonyms if it uses another word)')
                for cls in found:
                    self.by_class[cls].append(len(self.prompts))
                self.prompts.append(text)
        if not self.prompts:
            raise ValueError(f'prompt file {self.path} is empty: expected one prompt per line')

    def content_identity(self) -> dict:
        """The file's SHA-256: an edited prompt file is another run."""
        from mmdatasetdm.fileio import file_sha256
        return dict(file_sha256=file_sha256(self.path))

    def lines_for(self, cls: str) -> List[int]:
        """Indices (into :attr:`prompts`) of the prompts naming ``cls``."""
        lines = self.by_class[cls]
        if not lines:
            raise ValueError(
                f'prompt file {self.path} has no prompt naming the class {cls!r}, but the class '
                f'sampler asked for it; add prompts or give it quota/weight 0')
        return lines

    def write(self, index: int, cls: Optional[str], rng: np.random.Generator) -> str:
        if cls is None:
            return self.prompts[index % len(self.prompts)]
        lines = self.lines_for(cls)
        return self.prompts[lines[int(rng.integers(len(lines)))]]


@PROMPTS.register_module()
class LanguageModelPrompts(TemplatePrompts):
    """Prompts written by a local causal language model, or by templates.

    Without ``model_dir`` this is exactly :class:`TemplatePrompts` (the
    offline default). With it, a template is rendered as the opening of the
    prompt and the model (loaded with ``transformers``' ``AutoTokenizer`` /
    ``AutoModelForCausalLM`` from the folder, never from the Hub) continues
    it, so the class word is always present. The text is cut at the first
    newline or sentence end and at ``max_words`` words.

    Each class has a pool of ``pool_size`` descriptions; description ``j`` of
    class ``c`` is generated (lazily, then cached) with a seed derived from
    ``(seed, c, j)``, so it does not depend on which records were asked for
    first. :meth:`save_prompt_file` writes the pool as a prompt file for
    :class:`PromptFile`.

    Args:
        classes (Sequence[str]): canonical class names.
        model_dir (str, optional): a local folder holding a causal LM and its
            tokenizer.
        pool_size (int): descriptions per class.
        seed (int): seed of the descriptions.
        max_new_tokens (int): tokens generated per description.
        max_words (int): words kept per prompt (CLIP reads 77 tokens).
        temperature (float): sampling temperature.
        top_p (float): nucleus sampling mass.
        device (str): where the LM runs (CPU keeps it bit-reproducible).
        **kwargs: :class:`TemplatePrompts` arguments (templates, attributes,
            fields, class_names, synonyms).
    """

    def __init__(self,
                 classes: Sequence[str],
                 model_dir: Optional[str] = None,
                 pool_size: int = 100,
                 seed: int = 0,
                 max_new_tokens: int = 24,
                 max_words: int = 40,
                 temperature: float = 0.9,
                 top_p: float = 0.95,
                 device: str = 'cpu',
                 **kwargs):
        super().__init__(classes, **kwargs)
        if model_dir is not None and not osp.isdir(str(model_dir)):
            raise FileNotFoundError(
                f'model_dir {model_dir} is not a folder (expected a local causal LM saved '
                f'with save_pretrained)')
        if pool_size < 1:
            raise ValueError(f'pool_size must be >= 1, got {pool_size}')
        self.model_dir = None if model_dir is None else str(model_dir)
        self.pool_size = int(pool_size)
        self.seed = _check_seed(seed, 'seed')
        self.max_new_tokens = int(max_new_tokens)
        self.max_words = int(max_words)
        self.temperature = float(temperature)
        self.top_p = float(top_p)
        self.device = device
        self._model = None
        self._tokenizer = None
        self._pool: Dict[Tuple[int, int], str] = {}

    def content_identity(self) -> Optional[dict]:
        """The language model's files (their SHA-256), when one writes the prompts."""
        if self.model_dir is None:
            return None
        from mmdatasetdm.fileio import json_sha256, tree_sha256
        return dict(model_sha256=json_sha256(tree_sha256(self.model_dir)))

    def _load(self):
        if self._model is None:
            from transformers import AutoModelForCausalLM, AutoTokenizer
            self._tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
            self._model = AutoModelForCausalLM.from_pretrained(self.model_dir).to(
                self.device).eval()
        return self._tokenizer, self._model

    def description(self, cls: str, j: int) -> str:
        """Description ``j`` of class ``cls`` (generated once, then cached).

        Args:
            cls (str): a class name.
            j (int): index in the class's pool, ``0 <= j < pool_size``.

        Returns:
            str: the prompt.
        """
        c = self.classes.index(cls)
        if not 0 <= j < self.pool_size:
            raise IndexError(f'description {j} out of the pool of {self.pool_size}')
        key = (c, j)
        if key not in self._pool:
            rng = _rng(self.seed, _STREAM_LANGUAGE_MODEL, c, j)
            opening = TemplatePrompts.write(self, 0, cls, rng)
            if self.model_dir is None:
                self._pool[key] = opening
            else:
                self._pool[key] = self._continue(opening, int(rng.integers(2**31)))
        return self._pool[key]

    def _continue(self, opening: str, seed: int) -> str:
        import torch
        tokenizer, model = self._load()
        inputs = tokenizer(opening, return_tensors='pt').to(self.device)
        pad = tokenizer.pad_token_id
        pad = tokenizer.eos_token_id if pad is None else pad
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(seed)
            out = model.generate(
                **inputs,
                do_sample=True,
                temperature=self.temperature,
                top_p=self.top_p,
                max_new_tokens=self.max_new_tokens,
                pad_token_id=pad)
        continuation = tokenizer.decode(
            out[0, inputs['input_ids'].shape[1]:], skip_special_tokens=True)
        continuation = re.split(r'[\n\r]|(?<=[.!?])\s', continuation, maxsplit=1)[0]
        continuation = ''.join(ch for ch in continuation if ch.isprintable() and ch != '\ufffd')
        if continuation[:1].isalnum():
            # keep the class word a word of its own ('dog' + 's...' must not become 'dogs...')
            continuation = ' ' + continuation
        words = (opening + continuation).split()[:self.max_words]
        return _normalise_spaces(' '.join(words))

    def write(self, index: int, cls: Optional[str], rng: np.random.Generator) -> str:
        if self.model_dir is None:
            return super().write(index, cls, rng)
        if cls is None:
            cls = self.classes[int(rng.integers(len(self.classes)))]
        return self.description(cls, int(rng.integers(self.pool_size)))

    def save_prompt_file(self, path: str) -> str:
        """Write every class's pool to ``path``, one prompt per line.

        Args:
            path (str): the prompt file to write (atomically).

        Returns:
            str: ``path``.
        """
        from mmdatasetdm.fileio import atomic_write_text
        lines = [self.description(c, j) for c in self.classes for j in range(self.pool_size)]
        atomic_write_text(path, ''.join(line + '\n' for line in lines))
        return path


@PROMPTS.register_module()
class PromptSampler:
    """The prompts of a generation run: ``sampler[i]`` is a pure function of ``i``.

    Args:
        source (BasePromptSource | dict): a prompt source or its config.
        seed (int): the run's base seed; image seeds come from it too
            (:func:`sample_seed`).
        num_prompts (int, optional): the number of prompts (``len``).
        class_sampling (dict, optional): :class:`ClassSampler` arguments
            (``quotas``, ``weights``, ``class_counts`` + ``power``,
            ``block_size``); ``{}`` (default) = exactly balanced; None = let
            the source choose (e.g. a prompt file read in order).
        tokenizer (str | object, optional): a CLIP tokenizer or a folder to
            load one from (a diffusers folder's ``tokenizer/`` is found);
            when given, records carry class-word token positions.
    """

    def __init__(self, source, seed: int = 0, num_prompts: Optional[int] = None,
                 class_sampling: Optional[dict] = {}, tokenizer=None):  # noqa: B006 (read only)
        self.source: BasePromptSource = PROMPTS.build(source) if isinstance(source,
                                                                            dict) else source
        if not isinstance(self.source, BasePromptSource):
            raise TypeError(
                f'source must be a prompt source or its config, got {type(self.source).__name__}')
        self.seed = _check_seed(seed, 'seed')
        if num_prompts is not None:
            num_prompts = _check_seed(num_prompts, 'num_prompts')
        self.num_prompts = num_prompts
        self.class_sampler = None if class_sampling is None else ClassSampler(
            self.source.classes, seed=self.seed, **class_sampling)
        self.tokenizer = _load_tokenizer(tokenizer) if isinstance(tokenizer, str) else tokenizer
        self._warned_long = False

    def identity(self) -> dict:
        """What the run's prompts depend on beyond the config: the source's content."""
        return dict(source=type(self.source).__name__, content=self.source.content_identity())

    @property
    def classes(self) -> Tuple[str, ...]:
        """The canonical class names."""
        return self.source.classes

    def __len__(self) -> int:
        if self.num_prompts is None:
            raise TypeError('PromptSampler has no length: give num_prompts')
        return self.num_prompts

    def __iter__(self) -> Iterator[PromptRecord]:
        return (self[i] for i in range(len(self)))

    def __getitem__(self, index: int) -> PromptRecord:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f'prompt index must be an int, got {type(index).__name__}')
        index = int(index)
        if index < 0 or (self.num_prompts is not None and index >= self.num_prompts):
            raise IndexError(f'prompt index {index} out of range [0, {self.num_prompts})')
        target = None if self.class_sampler is None else self.class_sampler.class_at(index)
        text = self.source.write(index, target, _rng(self.seed, _STREAM_PROMPT, index))
        words = self.source.matcher.find(text)
        if target is not None and target not in words:
            raise ValueError(f'prompt {index} was asked to name {target!r} but {text!r} does not; '
                             f'check the source\'s class_names/synonyms')
        positions = num_tokens = None
        truncated = ()
        if self.tokenizer is not None:
            positions = self.token_positions(text, words)
            num_tokens = len(self.tokenizer(text, truncation=False).input_ids)
            limit = self.tokenizer.model_max_length
            if num_tokens > limit:
                truncated = tuple(c for c in words if not positions[c])
                if not self._warned_long:
                    self._warned_long = True
                    warnings.warn(
                        f'prompt {index} has {num_tokens} tokens; the text encoder reads the '
                        f'first {limit} and drops the rest'
                        + (f' (there the words of {list(truncated)})' if truncated else '')
                        + '; samples whose prompted classes are cut away are rejected as '
                        '"prompted_class_truncated" (further long prompts are not reported)',
                        stacklevel=2)
        return PromptRecord(
            index=index,
            text=text,
            classes=tuple(words),
            seed=sample_seed(self.seed, index),
            target=target,
            words=words,
            token_positions=positions,
            num_tokens=num_tokens,
            truncated=truncated)

    def token_positions(self, text: str, words: Mapping[str,
                                                        Sequence[str]]) -> Dict[str, List[int]]:
        """Token positions of each class's words in ``text``.

        Args:
            text (str): the prompt.
            words (Mapping[str, Sequence[str]]): class -> its surface words.

        Returns:
            dict[str, list[int]]: class -> sorted positions (empty when its
            words were truncated away).
        """
        from mmdatasetdm.diffusion.text import word_token_positions
        flat = sorted({w for ws in words.values() for w in ws})
        found = word_token_positions(self.tokenizer, text, flat)
        return {cls: sorted({p for w in ws for p in found[w]}) for cls, ws in words.items()}

    def class_histogram(self, num: Optional[int] = None) -> Dict[str, int]:
        """How often each class is the target among the first ``num`` prompts.

        Args:
            num (int, optional): defaults to ``len(self)``.

        Returns:
            dict[str, int]: class -> count.
        """
        if self.class_sampler is None:
            raise ValueError('class_sampling is None: prompts have no target class')
        num = len(self) if num is None else num
        counts = {c: 0 for c in self.classes}
        for i in range(num):
            counts[self.class_sampler.class_at(i)] += 1
        return counts


def _load_tokenizer(path: str):
    from transformers import CLIPTokenizer
    if not osp.isdir(path):
        raise FileNotFoundError(f'tokenizer folder {path} does not exist')
    sub = osp.join(path, 'tokenizer')
    if not osp.isfile(osp.join(path, 'vocab.json')) and osp.isdir(sub):
        path = sub
    return CLIPTokenizer.from_pretrained(path)


__all__ = [
    'sample_seed', 'PromptRecord', 'ClassMatcher', 'ClassSampler', 'BasePromptSource',
    'TemplatePrompts', 'PromptFile', 'LanguageModelPrompts', 'PromptSampler'
]
