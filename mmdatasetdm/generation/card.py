"""The dataset card of a generated set: its facts, a ``README.md`` and a gallery.

A generated set carries what made it (``dataset.json``: the run's identity) and
what became of every sample (``manifest.jsonl``). :func:`write_dataset_card`
turns both into a card, in three places:

* ``dataset.json`` under ``card``: the facts as JSON (:func:`dataset_card_facts`):
  counts (total, accepted, rejected by reason), the samples per prompted class,
  what the labels hold (images per semantic class, instances per category,
  persons and visible keypoints, the depth range), the diffusion model's and
  the P-Decoder's identities, the prompt source and its content identity, the
  sampler and filter settings, the library versions and the command that
  started the run;
* ``README.md``: the same facts as a dataset card with a YAML front matter
  (``pretty_name``, ``license``, ``task_categories``, ``size_categories``),
  ready for a dataset hub, with the configs that load the set;
* ``gallery.png``: the first accepted samples with their labels, each captioned
  with its prompt, and a legend of the classes drawn.

The card depends only on the set's files and the recorded command (no time,
no host, no absolute path), so writing it again, after a re-merge or a
``--resume`` of a finished run, writes the same bytes. ``tools/generate.py``
writes it when it merges; ``tools/misc/write_dataset_card.py DIR`` (re)writes it
for an existing set.

A stream folder (online generation, :mod:`mmdatasetdm.generation.stream`) is
never merged and loses its sample files as the training job passes them; its
card (:func:`write_stream_card`, written by the generator when it stops) is
computed from the part files every sample keeps, with the stream's own facts
(generator state, window, files still on disk, throughput) and a gallery of
the last samples still on disk.

The command line is recorded as typed when the run starts (:func:`record_command`,
called by :meth:`GenerationEngine.run` on rank 0) in
``shards/rank00000/command.json``, outside the run's identity: resuming with
another command line is not refused.
The card holds that command without what changes no sample
(:func:`generation_command`: the output folder, ``--launcher``, ``--resume``...),
so a set written by one process or by many, in one go or resumed after a crash,
into any folder, has the same bytes, card included.
"""
import os
import os.path as osp
import shlex
from collections import Counter
from typing import Any, Dict, List, Mapping, Optional, Sequence

from mmdatasetdm.fileio import (DATASET_META, IGNORE_INDEX, INSTANCES_JSON, KEYPOINTS_JSON,
                                MANIFEST, atomic_write_json, atomic_write_text, completed_indices,
                                dumps_json, list_shard_dirs, read_dataset_meta, read_depth,
                                read_json, read_manifest, read_semantic, shard_dir)
from mmdatasetdm.fileio.synthetic_format import (CARD_GALLERY, CARD_KEY, CARD_README, COMMAND_FILE,
                                                 part_file)

CARD_VERSION = 1
GALLERY_SAMPLES = 8
GALLERY_COLS = 4
GALLERY_TILE_HEIGHT = 128
# dataset hub task categories of each task
TASK_CATEGORIES = dict(semantic=['image-segmentation'],
                       instance=['object-detection', 'image-segmentation'],
                       pose=['keypoint-detection'], depth=['depth-estimation'])
TASK_NAMES = dict(semantic='semantic segmentation', instance='instance segmentation',
                  pose='human pose estimation', depth='depth estimation')
DATASET_TYPES = dict(semantic='mmdatasetdm.SyntheticSegDataset',
                     instance='mmdatasetdm.SyntheticInstanceDataset',
                     pose='mmdatasetdm.SyntheticPoseDataset',
                     depth='mmdatasetdm.SyntheticDepthDataset')
_SIZE_BUCKETS = ((1_000, 'n<1K'), (10_000, '1K<n<10K'), (100_000, '10K<n<100K'),
                 (1_000_000, '100K<n<1M'), (10_000_000, '1M<n<10M'),
                 (100_000_000, '10M<n<100M'), (1_000_000_000, '100M<n<1B'))
_NOT_RECORDED = 'not recorded'
# options of tools/generate.py that change no sample (-> number of values they take)
RUN_ONLY_OPTIONS = {'--out': 1, '--launcher': 1, '--resume': 0, '--overwrite': 0,
                    '--no-merge': 0, '--no-card': 0,
                    # a stream's (tools/generate.py --stream, python -m ...generation.stream)
                    '--stream': 0, '--window': 1, '--idle-timeout': 1}


# ---------------------------------------------------------------- the command
def record_command(out_dir: str, argv: Sequence[str]) -> List[str]:
    """Record the command line that starts a run, unless one is recorded already.

    It goes to ``{out_dir}/shards/rank00000/command.json``, rank 0's shard folder
    (which every run has), beside its ``shard.json`` but not in it: the run's
    identity (what ``--resume`` compares) does not hold it, and a resumed run
    keeps the command that started it.

    Args:
        out_dir (str): the run's output folder.
        argv (Sequence[str]): the command line (``sys.argv``).

    Returns:
        list[str]: the recorded command (the earlier one if there is one).
    """
    known = recorded_command(out_dir)
    if known is not None:
        return known
    argv = [str(a) for a in argv]
    atomic_write_json(osp.join(shard_dir(out_dir, 0), COMMAND_FILE), dict(argv=argv))
    return argv


def recorded_command(data_root: str) -> Optional[List[str]]:
    """The command recorded by :func:`record_command`, or None.

    Args:
        data_root (str): the run's output folder.

    Returns:
        list[str] | None: the command line.
    """
    path = osp.join(shard_dir(data_root, 0), COMMAND_FILE)
    if not osp.isfile(path):
        return None
    argv = read_json(path).get('argv')
    if not isinstance(argv, list):
        raise ValueError(f'{path} holds no command line ("argv" list)')
    return [str(a) for a in argv]


def generation_command(argv: Sequence[str]) -> List[str]:
    """A ``tools/generate.py`` command line without what changes no sample.

    The output folder (``--out``), the launcher and ``--resume``,
    ``--overwrite``, ``--no-merge``, ``--no-card`` (and a stream's ``--stream``,
    ``--window``, ``--idle-timeout``) are left out (see :data:`RUN_ONLY_OPTIONS`),
    a script in a ``tools`` folder is named ``tools/<script>`` and a module of
    this package ``-m mmdatasetdm.<module>``: what is left (the config, ``--num``, ``--device``,
    ``--cfg-options``) makes the same samples wherever and however it runs.

    Args:
        argv (Sequence[str]): the command line (``sys.argv``).

    Returns:
        list[str]: the command that makes the set.
    """
    argv = [str(a) for a in argv]
    if not argv:
        return []
    script = argv[0]
    parts = script.replace('\\', '/').split('/')
    if osp.basename(osp.dirname(script)) == 'tools':
        script = f'tools/{osp.basename(script)}'
    elif 'mmdatasetdm' in parts[:-1] and script.endswith('.py'):
        # a module of this package (the stream generator), run as python -m
        start = len(parts) - 1 - parts[::-1].index('mmdatasetdm')
        script = '.'.join(parts[start:])[:-len('.py')]
        return ['-m', script] + drop_options(argv[1:], RUN_ONLY_OPTIONS)
    return [script] + drop_options(argv[1:], RUN_ONLY_OPTIONS)


def drop_options(argv: Sequence[str], options: Mapping[str, int]) -> List[str]:
    """A command line without some options and their values.

    Args:
        argv (Sequence[str]): the arguments (no program name).
        options (Mapping[str, int]): option name -> how many values follow it
            (``--name=value`` is one token whatever the count).

    Returns:
        list[str]: the other arguments, in order.
    """
    out, skip = [], 0
    for token in argv:
        if skip:
            skip -= 1
            continue
        name = token.split('=', 1)[0]
        if name in options:
            skip = 0 if '=' in token else options[name]
            continue
        out.append(token)
    return out


def command_line(argv: Optional[Sequence[str]]) -> Optional[str]:
    """A recorded command as one shell line (``python`` before a script)."""
    if not argv:
        return None
    prefix = ['python'] if str(argv[0]).endswith('.py') or argv[0] == '-m' else []
    return shlex.join(prefix + [str(a) for a in argv])


# ---------------------------------------------------------------- the facts
def size_category(num: int) -> str:
    """The dataset hub's size category of ``num`` samples (``'n<1K'``, ``'1K<n<10K'``...)."""
    for limit, name in _SIZE_BUCKETS:
        if num < limit:
            return name
    return 'n>1B'


def _round(value: float) -> float:
    return round(float(value), 6)


def _task_of(meta: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]) -> Optional[str]:
    task = (meta.get('run_info') or {}).get('task')
    if task:
        return task
    kinds = {kind for line in lines for kind in line.get('files', {})}
    if meta.get('categories'):
        return 'instance'
    if meta.get('keypoint_meta'):
        return 'pose'
    return next((t for t in ('semantic', 'depth') if t in kinds), None)


def _counts(lines: Sequence[Mapping[str, Any]]) -> dict:
    rejected = Counter(line.get('reason') or 'unknown' for line in lines
                       if not line.get('accepted', True))
    total = len(lines)
    return dict(total=total, accepted=total - sum(rejected.values()),
                rejected=sum(rejected.values()), rejected_by_reason=dict(sorted(rejected.items())))


def _prompted(lines: Sequence[Mapping[str, Any]], order: Sequence[str]) -> List[dict]:
    """Samples, and accepted samples, whose prompt names each class."""
    prompted, accepted = Counter(), Counter()
    for line in lines:
        for name in set(line.get('classes') or []):
            prompted[name] += 1
            accepted[name] += int(bool(line.get('accepted', True)))
    names = [c for c in order if c in prompted] + sorted(set(prompted) - set(order))
    return [dict(name=n, samples=prompted[n], accepted=accepted[n]) for n in names]


def _semantic(data_root: str, meta: Mapping[str, Any], accepted: Sequence[dict]) -> Optional[dict]:
    """Images per class and mean pixel fraction, from the manifest's ``class_fractions``
    when every line records them, else from the masks."""
    with_masks = [line for line in accepted if 'semantic' in line.get('files', {})]
    if not with_masks:
        return None
    recorded = all('class_fractions' in (line.get('scores') or {}) for line in with_masks)
    if not recorded:  # from the masks still on disk (a stream folder deletes passed samples')
        with_masks = [line for line in with_masks
                      if osp.isfile(osp.join(data_root, line['files']['semantic']))]
        if not with_masks:
            return None
    images, fractions = Counter(), Counter()
    for line in with_masks:
        if recorded:
            present = {int(k): float(v) for k, v in line['scores']['class_fractions'].items()}
        else:
            import numpy as np
            labels = read_semantic(osp.join(data_root, line['files']['semantic']))
            ids, counts = np.unique(labels, return_counts=True)
            present = {int(i): float(c) / labels.size for i, c in zip(ids, counts)
                       if i != IGNORE_INDEX}
        for class_id, fraction in present.items():
            if fraction > 0:
                images[class_id] += 1
                fractions[class_id] += fraction
    names = list(meta.get('classes') or [])
    ids = sorted(set(range(len(names))) | set(images))
    rows = [dict(id=i, name=names[i] if i < len(names) else f'class {i}', images=images[i],
                 pixel_fraction=_round(fractions[i] / len(with_masks))) for i in ids]
    return dict(source=MANIFEST if recorded else 'masks', images=len(with_masks), classes=rows)


def _coco_file(data_root: str, name: str) -> Optional[dict]:
    path = osp.join(data_root, name)
    return read_json(path) if osp.isfile(path) else None


def _instance(doc: Optional[dict], meta: Mapping[str, Any], source: str) -> Optional[dict]:
    """Instances and images per category, from a COCO instances document."""
    if not meta.get('categories') or doc is None:
        return None
    instances, images = Counter(), {}
    for ann in doc.get('annotations', []):
        instances[ann['category_id']] += 1
        images.setdefault(ann['category_id'], set()).add(ann['image_id'])
    rows = [dict(id=c['id'], name=c['name'], images=len(images.get(c['id'], ())),
                 instances=instances[c['id']]) for c in meta['categories']]
    return dict(source=source, images=len(doc.get('images', [])),
                images_with_instances=len({a['image_id'] for a in doc.get('annotations', [])}),
                instances=sum(instances.values()), categories=rows)


def _pose(doc: Optional[dict], meta: Mapping[str, Any], source: str) -> Optional[dict]:
    """Persons and visible (labelled) keypoints, from a COCO keypoints document."""
    if not meta.get('keypoint_meta') or doc is None:
        return None
    category = doc['categories'][0]
    names = list(category.get('keypoints') or meta['keypoint_meta']['names'])
    visible = Counter()
    anns = doc.get('annotations', [])
    for ann in anns:
        flags = ann['keypoints'][2::3]
        visible.update(k for k, v in enumerate(flags) if v > 0)
    return dict(source=source, category=category['name'],
                images=len(doc.get('images', [])),
                images_with_persons=len({a['image_id'] for a in anns}), persons=len(anns),
                visible_keypoints=sum(visible.values()),
                keypoints=[dict(name=n, visible=visible[k]) for k, n in enumerate(names)])


def _depth(data_root: str, meta: Mapping[str, Any], accepted: Sequence[dict]) -> Optional[dict]:
    """The depth range, from the manifest's ``min_depth``/``max_depth`` when every line
    records them, else from the depth maps (their known, non-zero, pixels)."""
    with_depth = [line for line in accepted if 'depth' in line.get('files', {})]
    if not with_depth:
        return None
    recorded = all({'min_depth', 'max_depth'} <= set(line.get('scores') or {})
                   for line in with_depth)
    if not recorded:  # from the depth maps still on disk
        with_depth = [line for line in with_depth
                      if osp.isfile(osp.join(data_root, line['files']['depth']))]
        if not with_depth:
            return None
    lows, highs = [], []
    for line in with_depth:
        if recorded:
            low, high = line['scores']['min_depth'], line['scores']['max_depth']
        else:
            depth = read_depth(osp.join(data_root, line['files']['depth']),
                               line.get('depth_scale', meta.get('depth_scale', 1000.0)))
            known = depth[depth > 0]
            if not known.size:
                continue
            low, high = float(known.min()), float(known.max())
        lows.append(float(low))
        highs.append(float(high))
    if not lows:
        return dict(source='depth maps', images=len(with_depth), min=None, max=None,
                    mean_min=None, mean_max=None, scale=meta.get('depth_scale'))
    return dict(source=MANIFEST if recorded else 'depth maps', images=len(with_depth),
                min=_round(min(lows)), max=_round(max(highs)),
                mean_min=_round(sum(lows) / len(lows)), mean_max=_round(sum(highs) / len(highs)),
                scale=meta.get('depth_scale'))


def _image(data_root: str, meta: Mapping[str, Any], accepted: Sequence[dict]) -> Optional[dict]:
    """The format and size of the images (the first accepted image's size: a run has one)."""
    first = next((line for line in accepted if 'image' in line.get('files', {})
                  and osp.isfile(osp.join(data_root, line['files']['image']))), None)
    if first is None:
        return None
    from PIL import Image
    with Image.open(osp.join(data_root, first['files']['image'])) as image:
        width, height = image.size
    return dict(format=meta.get('image_ext'), height=height, width=width,
                jpeg_quality=meta.get('jpeg_quality') if meta.get('image_ext') == 'jpg' else None)


def _files(lines: Sequence[Mapping[str, Any]], meta: Mapping[str, Any], data_root: str,
           gallery: bool) -> Dict[str, str]:
    """What the set's folder holds (relative path -> what it is)."""
    per_kind = Counter(kind for line in lines for kind in line.get('files', {}))
    folders = dict(image='images', semantic='semantic', depth='depth', confidence='confidence')
    what = dict(image='images', semantic='semantic masks (8-bit PNG of class ids, 255 = ignore)',
                depth=f'depth maps (16-bit PNG, metres x {meta.get("depth_scale")})',
                confidence='per-pixel confidence maps of the semantic masks (8-bit PNG, '
                'round(255 x the winning class\'s share of the class scores))')
    files = {DATASET_META: 'what the run is (its identity) and this card under "card"',
             MANIFEST: 'one JSON line per sample, accepted or rejected (with its reason)'}
    for kind in ('image', 'semantic', 'depth', 'confidence'):
        if per_kind[kind]:
            files[f'{folders[kind]}/'] = f'{per_kind[kind]} {what[kind]}'
    if osp.isfile(osp.join(data_root, INSTANCES_JSON)):
        files[INSTANCES_JSON] = 'COCO instances (RLE masks) of the accepted samples'
    if osp.isfile(osp.join(data_root, KEYPOINTS_JSON)):
        files[KEYPOINTS_JSON] = 'COCO keypoints of the accepted samples'
    files[CARD_README] = 'this card'
    if gallery:
        files[CARD_GALLERY] = 'the first accepted samples with their labels'
    return files


def _pretty_name(task: Optional[str], classes: Sequence[str]) -> str:
    what = TASK_NAMES.get(task, 'data')
    if not classes:
        return f'DatasetDM synthetic {what}'
    names = ', '.join(classes) if len(classes) <= 4 else f'{len(classes)} classes'
    return f'DatasetDM synthetic {what}: {names}'


def dataset_card_facts(data_root: str, command: Optional[Sequence[str]] = None,
                       gallery: bool = True) -> dict:
    """The card's facts of a merged generated set.

    Reads ``dataset.json`` and ``manifest.jsonl`` (and the COCO files, and the
    masks or depth maps only where the manifest does not record what is
    needed).

    Args:
        data_root (str): the set's folder.
        command (Sequence[str], optional): the command line that made the
            set; default: the one recorded in
            ``shards/rank00000/command.json``, else the one of the set's
            current card. The card holds it without what
            changes no sample (:func:`generation_command`).
        gallery (bool): whether the card has a gallery (``gallery.png``).

    Returns:
        dict: JSON-serialisable facts (see the module's docstring).
    """
    meta = read_dataset_meta(data_root)
    lines = read_manifest(data_root)
    accepted = [line for line in lines if line.get('accepted', True)]
    docs = {INSTANCES_JSON: _coco_file(data_root, INSTANCES_JSON),
            KEYPOINTS_JSON: _coco_file(data_root, KEYPOINTS_JSON)}
    drawn = [line for line in accepted if 'image' in line.get('files', {})][:GALLERY_SAMPLES]
    has_gallery = bool(gallery and drawn)
    return _facts(data_root, meta, lines, docs, command, drawn if has_gallery else None,
                  _files(lines, meta, data_root, has_gallery))


def _facts(data_root: str, meta: Mapping[str, Any], lines: Sequence[dict],
           docs: Mapping[str, Optional[dict]], command: Optional[Sequence[str]],
           drawn: Optional[Sequence[dict]], files: Mapping[str, str]) -> dict:
    """The facts of a set given as its metadata, manifest lines and COCO documents (files
    relative to ``data_root``); ``drawn``: the gallery's samples, or None for no gallery."""
    accepted = [line for line in lines if line.get('accepted', True)]
    config = meta.get('config') or {}
    run_info = meta.get('run_info') or {}
    prompts = config.get('prompts') or {}
    source = prompts.get('source') if isinstance(prompts.get('source'), Mapping) else {}
    task = _task_of(meta, lines)
    prompt_classes = list(source.get('classes') or [])
    if command is None:
        command = recorded_command(data_root)
    if command is None:
        command = (meta.get(CARD_KEY) or {}).get('command')
    annotations = {}
    for kind, found in (('semantic', _semantic(data_root, meta, accepted)),
                        ('instance', _instance(docs[INSTANCES_JSON], meta, INSTANCES_JSON)),
                        ('pose', _pose(docs[KEYPOINTS_JSON], meta, KEYPOINTS_JSON)),
                        ('depth', _depth(data_root, meta, accepted))):
        if found is not None:
            annotations[kind] = found
    sampling = config.get('sampling') or {}
    return dict(
        card_version=CARD_VERSION,
        task=task,
        pretty_name=_pretty_name(task, prompt_classes or sorted(
            {c for line in lines for c in line.get('classes') or []})),
        counts=_counts(lines),
        prompted_classes=_prompted(lines, prompt_classes),
        annotations=annotations,
        image=_image(data_root, meta, accepted),
        diffusion_model=config.get('diffusion_model'),
        decoder=config.get('decoder', run_info.get('decoder')),
        prompts=dict(source=source.get('type'), path=source.get('path'),
                     seed=prompts.get('seed'), content=config.get('prompt_content'),
                     config=prompts or None),
        sampler=dict(scheduler=run_info.get('scheduler'), steps=run_info.get('steps'),
                     guidance_scale=run_info.get('guidance'),
                     capture_timestep=run_info.get('timestep'),
                     decoder_timestep=run_info.get('decoder_timestep'),
                     negative_prompt=sampling.get('negative_prompt'),
                     height=sampling.get('height'), width=sampling.get('width'),
                     batch_size=config.get('batch_size')),
        filters=config.get('filters'),
        versions=config.get('versions'),
        command=None if command is None else generation_command(command),
        files=dict(files),
        gallery=dict(file=CARD_GALLERY, indices=[line['index'] for line in drawn])
        if drawn else None)


# ---------------------------------------------------------------- stream folders
def _stream_contents(stream_dir: str):
    """A stream folder's set, read from its shards' part files: the shard metadata, every
    manifest line (files relative to ``stream_dir``) and the COCO documents built from the
    accepted samples' parts, as a merge would write them."""
    from .writers.shard import coco_documents, read_shard_meta
    folders = list_shard_dirs(stream_dir)
    if not folders:
        raise FileNotFoundError(f'{stream_dir} is not a stream folder: it has no shard folder '
                                'under shards/ (tools/generate.py --stream writes one)')
    meta, parts = read_shard_meta(folders), {}
    for folder in folders:
        rel = osp.relpath(folder, stream_dir)
        for index in completed_indices(folder):
            parts.setdefault(index, (rel, read_json(part_file(folder, index))))
    lines, images, instances, keypoints = [], [], [], []
    for index in sorted(parts):
        rel, part = parts[index]
        line = dict(part['manifest'])
        line['files'] = {k: osp.join(rel, v) for k, v in line.get('files', {}).items()}
        lines.append(line)
        if line.get('accepted', True):
            if part.get('image') is not None:
                images.append(part['image'])
            instances += part.get('instances') or []
            keypoints += part.get('keypoints') or []
    return meta, lines, coco_documents(meta, images, instances, keypoints)


def _stream_card(stream_dir: str, command: Optional[Sequence[str]], gallery: bool):
    from .stream import CONSUMER_STATE, GENERATOR_STATE, read_state
    meta, lines, docs = _stream_contents(stream_dir)
    accepted = [line for line in lines if line.get('accepted', True)]
    kept = [line for line in accepted
            if all(osp.isfile(osp.join(stream_dir, rel)) for rel in line['files'].values())]
    drawn = [line for line in kept if 'image' in line['files']][-GALLERY_SAMPLES:] \
        if gallery else []
    per_kind = Counter(kind for line in kept for kind in line['files'])
    files = {GENERATOR_STATE: "the generator's state: running, finished, stopped or failed, "
             'its counts and timings',
             CONSUMER_STATE: "the training job's position in the stream",
             'shards/rank00000/parts/': f'one JSON file per sample ({len(lines)}): its manifest '
             'line and its COCO image, instances and keypoints; they stay when the sample '
             'files are deleted',
             'shards/rank00000/': f'the sample files still on disk ({len(kept)} of the '
             f'{len(accepted)} accepted samples: ' + ', '.join(
                 f'{n} {kind}' for kind, n in sorted(per_kind.items())) + '); the training job '
             'deletes the files of the samples it has passed by more than the window',
             DATASET_META: 'the run\'s identity (its shard metadata) and this card under "card"',
             CARD_README: 'this card'}
    if drawn:
        files[CARD_GALLERY] = 'the last accepted samples still on disk, with their labels'
    facts = _facts(stream_dir, meta, lines, docs, command, drawn or None, files)
    generator = read_state(stream_dir, GENERATOR_STATE) or {}
    consumer = read_state(stream_dir, CONSUMER_STATE) or {}
    rate = generator.get('samples_per_s')
    facts['stream'] = dict(
        state=generator.get('state'), num_samples=generator.get('num_samples'),
        window=generator.get('window'), accepted=len(accepted), generated=len(lines),
        files_kept=len(kept), first_kept=kept[0]['index'] if kept else None,
        busy_s=None if generator.get('busy_s') is None else round(generator['busy_s'], 1),
        waited_s=None if generator.get('waited_s') is None else round(generator['waited_s'], 1),
        samples_per_s=None if rate is None else round(rate, 4),
        consumed=consumer.get('consumed'), consumer_finished=consumer.get('finished'))
    return facts, meta, docs, drawn


def stream_card_facts(stream_dir: str, command: Optional[Sequence[str]] = None,
                      gallery: bool = True) -> dict:
    """The card's facts of a stream folder (online generation), read from its part files.

    The facts of a merged set (:func:`dataset_card_facts`: counts, rejections by
    reason, class and instance distribution, identities, prompts, sampler and
    filters, versions, command), computed from the manifest lines and COCO
    entries that every sample's part file keeps after its files are deleted,
    plus ``stream``: the generator's state, its accepted and generated
    samples, the samples whose files are still on disk, its busy and waiting
    seconds and throughput, and the consumer's position.

    Args:
        stream_dir (str): the stream folder (``tools/generate.py --stream --out``).
        command (Sequence[str], optional): as in :func:`dataset_card_facts`.
        gallery (bool): whether the card has a gallery (the last accepted
            samples whose files are still on disk).

    Returns:
        dict: JSON-serialisable facts.
    """
    return _stream_card(stream_dir, command, gallery)[0]


def is_stream_folder(path: str) -> bool:
    """Whether ``path`` is a stream folder (its generator or consumer wrote a state file)."""
    from .stream import STREAM_ENTRIES
    return any(osp.isfile(osp.join(path, name)) for name in STREAM_ENTRIES)


# ---------------------------------------------------------------- the README
def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[int] = ()) -> str:
    align = ['---:' if k in right else '---' for k in range(len(header))]
    out = ['| ' + ' | '.join(header) + ' |', '|' + '|'.join(align) + '|']
    out += ['| ' + ' | '.join(str(v).replace('|', '\\|') for v in row) + ' |' for row in rows]
    return '\n'.join(out)


def _share(part: int, whole: int) -> str:
    return f'{100.0 * part / whole:.1f}%' if whole else '-'


def _value(value) -> str:
    if value is None:
        return _NOT_RECORDED
    return f'`{value}`' if isinstance(value, str) else f'`{dumps_json(value)}`'


def _loading(task: Optional[str]) -> str:
    snippets = dict(
        semantic=("synthetic = dict(type='mmdatasetdm.SyntheticSegDataset', "
                  "data_root='path/to/this/folder',\n"
                  "                 metainfo_from='PascalVOCDataset',  # the real classes\n"
                  "                 pipeline=train_pipeline)\n"
                  "train_dataloader = dict(dataset=dict(\n"
                  "    _delete_=True, type='ConcatDataset', datasets=[real_dataset, synthetic]))"),
        instance=("synthetic = dict(type='mmdatasetdm.SyntheticInstanceDataset', "
                  "data_root='path/to/this/folder',\n"
                  "                 metainfo_from='CocoDataset',  # the real categories\n"
                  "                 filter_cfg=dict(filter_empty_gt=True), "
                  "pipeline=train_pipeline)\n"
                  "train_dataloader = dict(dataset=dict(\n"
                  "    _delete_=True, type='ConcatDataset', datasets=[real_dataset, synthetic]))"),
        pose=("coco_metainfo = dict(from_file='configs/_base_/datasets/coco.py')\n"
              "synthetic = dict(type='mmdatasetdm.SyntheticPoseDataset', "
              "data_root='path/to/this/folder',\n"
              "                 metainfo=coco_metainfo, data_mode='topdown', pipeline=[])\n"
              "train_dataloader = dict(dataset=dict(\n"
              "    _delete_=True, type='CombinedDataset', metainfo=coco_metainfo,\n"
              "    datasets=[dict(real_dataset, pipeline=[]), synthetic], "
              "pipeline=train_pipeline))"),
        depth=("synthetic = dict(type='mmdatasetdm.SyntheticDepthDataset', "
               "data_root='path/to/this/folder',\n"
               "                 metainfo_from='NYUDataset', pipeline=train_pipeline)\n"
               "train_dataloader = dict(dataset=dict(\n"
               "    _delete_=True, type='ConcatDataset', datasets=[real_dataset, synthetic]))"))
    toolbox = dict(semantic='MMSegmentation', instance='MMDetection', pose='MMPose',
                   depth='MMSegmentation')
    if task not in snippets:
        return ('The synthetic dataset types '
                '`mmdatasetdm.Synthetic{Seg,Instance,Pose,Depth}Dataset` read this folder.\n')
    return (f'In an {toolbox[task]} config, `{DATASET_TYPES[task]}` reads this folder through '
            'its manifest (the accepted samples) and maps its classes onto the real dataset\'s '
            'by name, so it mixes with the real set:\n\n```python\n' + snippets[task]
            + '\n```\n\nIts options select samples (`classes_filter`, `max_samples`'
            + (', `min_score`' if task == 'semantic' else '')
            + '), rename or drop classes (`class_map`, `drop_classes`) and check every file '
            '(`verify=True`). The configs `configs/*_synth_*.py` of the mmdatasetdm repository '
            'mix such sets with the real few-shot sets.\n')


def _loading_stream(task: Optional[str]) -> str:
    inner = DATASET_TYPES.get(task, 'mmdatasetdm.SyntheticSegDataset')
    return ('This folder is a stream: a training job read its samples while they were '
            'generated, through `mmdatasetdm.StreamingSyntheticDataset` (sample `k` = the `k`-th '
            'accepted sample) wrapping '
            f'`{inner}`, mixed with the real set by `mmdatasetdm.StreamSampler`, with '
            '`mmdatasetdm.OnlineGenerationHook` starting the generator:\n\n```python\n'
            "synthetic = dict(type='mmdatasetdm.StreamingSyntheticDataset',\n"
            "                 stream_dir='path/to/this/folder', num_samples=N, window=W,\n"
            f"                 dataset=dict(type='{inner}', pipeline=train_pipeline))\n"
            '```\n\nThe same generation config with `tools/generate.py --out DIR --num N` '
            'writes these samples as a fixed set (stream position `k` is its `k`-th accepted '
            'sample); the sample files deleted here can be made again that way.\n')


def _stream_section(stream: Mapping[str, Any]) -> str:
    rate = stream.get('samples_per_s')
    return _table(['what', 'value'], [
        ('generator state', _value(stream.get('state'))),
        ('accepted samples asked for (`--num`)', _value(stream.get('num_samples'))),
        ('window (accepted samples the generator may run ahead)', _value(stream.get('window'))),
        ('generated / accepted', f'{stream["generated"]} / {stream["accepted"]}'),
        ('accepted samples whose files are still on disk', f'{stream["files_kept"]}'
         + (f' (from index {stream["first_kept"]})' if stream.get('first_kept') is not None
            else '')),
        ('consumer position (stream samples trained on)', _value(stream.get('consumed'))),
        ('generator busy / waiting for the consumer (s)',
         f'{_value(stream.get("busy_s"))} / {_value(stream.get("waited_s"))}'),
        ('generated samples per busy second', _NOT_RECORDED if rate is None else f'{rate:g}'),
    ])


def _distribution(facts: Mapping[str, Any]) -> str:
    parts = []
    annotations = facts['annotations']
    if 'semantic' in annotations:
        sem = annotations['semantic']
        parts.append(f'Semantic classes in the masks of the {sem["images"]} accepted images '
                     f'(counted from {_source(sem["source"])}): the images where the class '
                     'appears, and its mean share of the pixels.\n\n' + _table(
                         ['id', 'class', 'images', 'pixels'],
                         [(c['id'], c['name'], c['images'], _share_f(c['pixel_fraction']))
                          for c in sem['classes']], right=(0, 2, 3)))
    if 'instance' in annotations:
        ins = annotations['instance']
        parts.append(f'{ins["instances"]} instances in {ins["images_with_instances"]} of the '
                     f'{ins["images"]} accepted images ({INSTANCES_JSON}):\n\n' + _table(
                         ['category id', 'category', 'images', 'instances'],
                         [(c['id'], c['name'], c['images'], c['instances'])
                          for c in ins['categories']], right=(0, 2, 3)))
    if 'pose' in annotations:
        pose = annotations['pose']
        parts.append(f'{pose["persons"]} {pose["category"]} annotations in '
                     f'{pose["images_with_persons"]} of the {pose["images"]} accepted images, '
                     f'{pose["visible_keypoints"]} visible keypoints ({KEYPOINTS_JSON}):\n\n'
                     + _table(['keypoint', 'visible'],
                              [(k['name'], k['visible']) for k in pose['keypoints']],
                              right=(1, )))
    if 'depth' in annotations:
        d = annotations['depth']
        parts.append(f'Depth of the {d["images"]} accepted images (metres, from '
                     f'{_source(d["source"])}):\n\n' + _table(
                         ['min', 'max', 'mean of image minima', 'mean of image maxima'],
                         [(d['min'], d['max'], d['mean_min'], d['mean_max'])],
                         right=(0, 1, 2, 3)))
    if facts['prompted_classes']:
        parts.append('Samples whose prompt names each class, and how many of them were '
                     'accepted:\n\n' + _table(
                         ['prompted class', 'samples', 'accepted', 'accepted share'],
                         [(c['name'], c['samples'], c['accepted'],
                           _share(c['accepted'], c['samples'])) for c in facts['prompted_classes']],
                         right=(1, 2, 3)))
    return '\n\n'.join(parts) if parts else 'No accepted sample holds labels.'


def _source(source: str) -> str:
    return f"the scores `{MANIFEST}` records" if source == MANIFEST else f'the {source}'


def _share_f(fraction: float) -> str:
    return f'{100.0 * fraction:.1f}%'


def render_readme(facts: Mapping[str, Any]) -> str:
    """The ``README.md`` of a card: YAML front matter, then the facts as sections.

    Args:
        facts (Mapping): from :func:`dataset_card_facts`.

    Returns:
        str: Markdown.
    """
    task, counts = facts['task'], facts['counts']
    front = ['---', f'pretty_name: {dumps_json(facts["pretty_name"])}', 'license: other',
             'task_categories:'] + [f'- {c}' for c in TASK_CATEGORIES.get(task, ['other'])] + [
                 'size_categories:', f'- {size_category(counts["accepted"])}', 'tags:',
                 '- synthetic', '- datasetdm', '- stable-diffusion', '- openmmlab', '---']
    image = facts['image']
    size = (f'{image["width"]}x{image["height"]} {image["format"].upper()} images'
            if image else 'no accepted image')
    sampler, prompts = facts['sampler'], facts['prompts']
    summary = (
        f'{counts["accepted"]} labelled images for {TASK_NAMES.get(task, "an unknown task")}, '
        'generated from text prompts by a diffusion model and labelled by a perception decoder '
        '(P-Decoder) that reads the diffusion model\'s features, as in DatasetDM. '
        f'{counts["total"]} samples were generated; '
        + (f'{counts["rejected"]} were rejected by the label filters '
           f'({_share(counts["rejected"], counts["total"])}): `{MANIFEST}` lists them with '
           'their reasons, without their files. ' if counts['rejected'] else
           'none was rejected by the label filters. ')
        + f'Images: {size}.')
    made = _table(['what', 'value'], [
        ('diffusion model (SHA-256 of weights, tokenizer, scheduler config)',
         _value(facts['diffusion_model'])),
        ('P-Decoder (SHA-256 of its weights)', _value(facts['decoder'])),
        ('prompt source', _value(prompts['source'])
         + (f' reading `{prompts["path"]}`' if prompts['path'] else '')),
        ('prompt content identity', _value(prompts['content']) if prompts['content'] is not None
         else 'none: the prompt config below is all the prompts depend on'),
        ('prompt seed', _value(prompts['seed'])),
        ('scheduler', _value(sampler['scheduler'])),
        ('sampling steps', _value(sampler['steps'])),
        ('guidance scale', _value(sampler['guidance_scale'])),
        ('features read at timestep', _value(sampler['capture_timestep'])
         + (f' (P-Decoder trained at {sampler["decoder_timestep"]})'
            if sampler['decoder_timestep'] is not None else '')),
        ('negative prompt', 'none' if sampler['negative_prompt'] is None
         else _value(sampler['negative_prompt'])),
        ('batch size', _value(sampler['batch_size'])),
        ('filters', _value(facts['filters'])),
    ])
    versions = facts['versions'] or {}
    command = command_line(facts['command'])
    rows = [('accepted', counts['accepted'], _share(counts['accepted'], counts['total']))]
    rows += [(f'rejected: `{reason}`', n, _share(n, counts['total']))
             for reason, n in counts['rejected_by_reason'].items()]
    rows.append(('total', counts['total'], '100.0%' if counts['total'] else '-'))
    sections = [
        '\n'.join(front), f'# {facts["pretty_name"]}', '## Summary', summary,
        '## How it was made', made,
        'Prompt config:\n\n```json\n' + dumps_json(prompts['config']) + '\n```',
        'Library versions: ' + (', '.join(f'{k} {v}' for k, v in versions.items())
                                or _NOT_RECORDED) + '.',
        'The command that makes the set (add `--out DIR`'
        + (' and a `--window`' if facts.get('stream') else '')
        + '; the options that change no sample '
        '- the output folder, `--launcher`, `--resume`, `--overwrite`, `--no-merge`, '
        '`--no-card` - are left out; `shards/rank00000/command.json` holds the command line '
        'as typed):'
        '\n\n```shell\n' + command + '\n```' if command else
        'The command that started the run was not recorded (the set was not written by '
        '`tools/generate.py`).',
        'The run\'s identity, which `tools/generate.py --resume` compares, is all of the above '
        f'but the command; `{DATASET_META}` holds it under `config`, and this card\'s facts '
        'under `card`.',
        '## Counts and rejections', _table(['outcome', 'samples', 'share'], rows, right=(1, 2)),
    ]
    if facts.get('stream'):
        sections += ['## Stream', _stream_section(facts['stream'])]
    sections += [
        '## Class distribution', _distribution(facts),
        '## Files and format', _table(['file', 'what'],
                                      [(f'`{k}`', v) for k, v in facts['files'].items()]),
        'Sample `i`\'s files are named by its global index (`images/{i:08d}.png`); its manifest '
        'line holds its prompt, seed, sampler settings, P-Decoder hash, scores, and whether it '
        'was accepted. COCO image ids are `i + 1`.',
        '## How to load it', (_loading_stream(task) if facts.get('stream')
                              else _loading(task)).rstrip('\n'),
    ]
    if facts['gallery']:
        which = 'last accepted samples still on disk' if facts.get('stream') \
            else 'first accepted samples'
        sections += ['## Gallery', f'![the {which}]({facts["gallery"]["file"]})',
                     f'Samples {", ".join(map(str, facts["gallery"]["indices"]))}, each with its '
                     'labels and prompt; the legend names the colours.']
    sections += ['## Limitations', '\n'.join([
        '- The labels are predictions of a P-Decoder trained on a few real images, not human '
        'annotations: expect missed and wrong labels, more so for rare classes and small objects.',
        '- Only samples that passed the filters above are in the set; the filters measure the '
        'P-Decoder\'s confidence, not the labels\' correctness.',
        '- The images inherit the biases and the failure modes of the diffusion model and of the '
        'prompts (the prompted class table shows what was asked for).',
        '- License: other. The images are outputs of the diffusion model and fall under its '
        'license and use restrictions; check them before redistributing the set.',
    ])]
    return '\n\n'.join(sections) + '\n'


# ---------------------------------------------------------------- writing
def write_dataset_card(data_root: str, command: Optional[Sequence[str]] = None,
                       gallery: bool = True, fsync: bool = False) -> dict:
    """Write (or rewrite) the card of a merged generated set.

    Adds the facts to ``dataset.json`` under ``card`` (every other key is kept),
    writes ``README.md`` and, with ``gallery``, ``gallery.png``; all files are
    written atomically. Equal sets give byte-equal cards.

    Args:
        data_root (str): the set's folder (``dataset.json`` and
            ``manifest.jsonl`` final).
        command (Sequence[str], optional): the command that made the set
            (default: see :func:`dataset_card_facts`).
        gallery (bool): draw ``gallery.png`` (mmdet / mmpose draw instances and
            keypoints); without it a gallery left from before is removed.
        fsync (bool): flush the files to disk before their renames.

    Returns:
        dict: the facts.
    """
    facts = dataset_card_facts(data_root, command, gallery)
    gallery_path = osp.join(data_root, CARD_GALLERY)
    if facts['gallery']:
        from mmdatasetdm.visualization import synthetic_gallery
        synthetic_gallery(data_root, gallery_path, num=GALLERY_SAMPLES, cols=GALLERY_COLS,
                          scale=1, tile_height=GALLERY_TILE_HEIGHT, captions=True, legend=True)
    elif osp.isfile(gallery_path):
        os.remove(gallery_path)
    atomic_write_text(osp.join(data_root, CARD_README), render_readme(facts), fsync)
    meta = read_dataset_meta(data_root)
    meta[CARD_KEY] = facts
    atomic_write_json(osp.join(data_root, DATASET_META), meta, fsync)
    return facts


def write_stream_card(stream_dir: str, command: Optional[Sequence[str]] = None,
                      gallery: bool = True) -> dict:
    """Write (or rewrite) the card of a stream folder: ``README.md``, ``gallery.png`` and
    ``dataset.json`` (the shard metadata with the facts under ``card``).

    The generator writes it when it stops (:func:`mmdatasetdm.generation.stream.run_stream`);
    ``tools/misc/write_dataset_card.py STREAM_DIR`` rewrites it at any time, e.g. after the
    training job deleted more files.

    Args:
        stream_dir (str): the stream folder.
        command (Sequence[str], optional): see :func:`dataset_card_facts`.
        gallery (bool): draw ``gallery.png`` from the last samples still on disk.

    Returns:
        dict: the facts (:func:`stream_card_facts`).
    """
    facts, meta, docs, drawn = _stream_card(stream_dir, command, gallery)
    gallery_path = osp.join(stream_dir, CARD_GALLERY)
    if facts['gallery']:
        from mmdatasetdm.visualization import synthetic_gallery
        annotations = {key: (docs[name] or {}).get('annotations', [])
                       for key, name in (('instances', INSTANCES_JSON),
                                         ('keypoints', KEYPOINTS_JSON))}
        synthetic_gallery(stream_dir, gallery_path, num=GALLERY_SAMPLES, cols=GALLERY_COLS,
                          scale=1, tile_height=GALLERY_TILE_HEIGHT, captions=True, legend=True,
                          lines=drawn, meta=meta, annotations=annotations)
    elif osp.isfile(gallery_path):
        os.remove(gallery_path)
    atomic_write_text(osp.join(stream_dir, CARD_README), render_readme(facts))
    atomic_write_json(osp.join(stream_dir, DATASET_META), dict(meta, **{CARD_KEY: facts}))
    return facts


def read_card(data_root: str) -> dict:
    """A set's card: the one in ``dataset.json``, or (a set without one) its facts.

    Args:
        data_root (str): the set's folder, or a stream folder.

    Returns:
        dict: the facts (nothing is written).
    """
    meta_path = osp.join(data_root, DATASET_META)
    card = read_json(meta_path).get(CARD_KEY) if osp.isfile(meta_path) else None
    if card:
        return card
    if is_stream_folder(data_root):
        return stream_card_facts(data_root, gallery=False)
    return dataset_card_facts(data_root, gallery=False)


def card_summary(facts: Mapping[str, Any], data_root: Optional[str] = None) -> str:
    """A few lines of a card: counts, rejections, classes.

    Args:
        facts (Mapping): a card (:func:`dataset_card_facts`).
        data_root (str, optional): the set's folder, named in the first line.

    Returns:
        str: the summary (no trailing newline).
    """
    counts = facts['counts']
    where = f' {data_root}' if data_root else ''
    out = [f'generated set{where} ({facts.get("task") or "unknown task"}): {counts["total"]} '
           f'samples, {counts["accepted"]} accepted, {counts["rejected"]} rejected']
    if counts['rejected_by_reason']:
        out.append('  rejected: ' + ', '.join(f'{r} {n}'
                                              for r, n in counts['rejected_by_reason'].items()))
    annotations = facts.get('annotations') or {}
    if 'semantic' in annotations:
        out.append('  classes (images): ' + ', '.join(
            f'{c["name"]} {c["images"]}' for c in annotations['semantic']['classes']))
    if 'instance' in annotations:
        out.append('  instances (images): ' + ', '.join(
            f'{c["name"]} {c["instances"]} ({c["images"]})'
            for c in annotations['instance']['categories']))
    if 'pose' in annotations:
        pose = annotations['pose']
        out.append(f'  {pose["category"]}: {pose["persons"]} in {pose["images_with_persons"]} '
                   f'images, {pose["visible_keypoints"]} visible keypoints')
    if 'depth' in annotations and annotations['depth']['min'] is not None:
        depth = annotations['depth']
        out.append(f'  depth: {depth["min"]:g} - {depth["max"]:g} m')
    if facts.get('prompted_classes'):
        out.append('  prompted (accepted/samples): ' + ', '.join(
            f'{c["name"]} {c["accepted"]}/{c["samples"]}' for c in facts['prompted_classes']))
    return '\n'.join(out)


def generated_roots(dataset_cfg: Mapping[str, Any]) -> List[str]:
    """The folders of the generated sets a dataset config reads (wrappers included).

    A dataset whose ``data_root`` holds a ``dataset.json`` is a generated set,
    one whose ``stream_dir`` holds shards a stream folder
    (``ConcatDataset``'s ``datasets``, ``RepeatDataset``'s ``dataset`` and the
    like are searched).

    Args:
        dataset_cfg (Mapping): a dataset config.

    Returns:
        list[str]: the folders, in config order, without repeats.
    """
    found: List[str] = []

    def visit(cfg):
        if not isinstance(cfg, Mapping):
            return
        root = cfg.get('data_root')
        if isinstance(root, str) and osp.isfile(osp.join(root, DATASET_META)) \
                and root not in found:
            found.append(root)
        stream = cfg.get('stream_dir')
        if isinstance(stream, str) and osp.isdir(osp.join(stream, 'shards')) \
                and stream not in found:
            found.append(stream)
            return  # its inner dataset's data_root is the stream folder
        visit(cfg.get('dataset'))
        for child in cfg.get('datasets') or []:
            visit(child)

    visit(dataset_cfg)
    return found


__all__ = [
    'CARD_KEY', 'record_command', 'recorded_command', 'generation_command', 'command_line',
    'size_category',
    'dataset_card_facts', 'render_readme', 'write_dataset_card', 'read_card', 'card_summary',
    'generated_roots', 'stream_card_facts', 'write_stream_card', 'is_stream_folder',
    'drop_options'
]
