"""The generation configs of the paper's four settings (configs/generate/{voc_semantic,
coco_instance,coco_pose,nyu_depth}.py), their prompt files and tools/misc/write_prompt_file.py.

No model is run: the configs are parsed, their prompt sources built and sampled, and the
prompt-file tool is run with a tiny random causal LM written here by ``transformers``."""
import os.path as osp

import pytest
from mmengine.config import Config

from mmdatasetdm.diffusion import SamplingConfig
from mmdatasetdm.generation.annotations import FilterConfig
from mmdatasetdm.generation.prompts import PromptFile, PromptSampler
from tests.tool_module import load_tool
from tests.toy_data import make_tiny_causal_lm

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
GENERATE = osp.join(ROOT, 'configs', 'generate')
# NYU-40's object words in its order (wall, floor, ceiling and the 'other' groups left out)
NYU_OBJECTS = ('cabinet', 'bed', 'chair', 'sofa', 'table', 'door', 'window', 'bookshelf',
               'picture', 'counter', 'blinds', 'desk', 'shelves', 'curtain', 'dresser', 'pillow',
               'mirror', 'floor mat', 'clothes', 'books', 'refrigerator', 'television', 'paper',
               'towel', 'shower curtain', 'box', 'whiteboard', 'person', 'night stand', 'toilet',
               'sink', 'lamp', 'bathtub', 'bag')
# config -> the mixing config that reads its output, its P-Decoder config, task, and the
# least lines its prompt file has (in all / naming each class)
SETTINGS = {
    'voc_semantic': dict(synth='voc_synth_100.py', pdecoder='semantic_voc_100', task='semantic',
                         min_lines=100, min_per_class=5),
    'coco_instance': dict(synth='coco_inst_synth_800.py', pdecoder='instance_coco_800',
                          task='instance', min_lines=240, min_per_class=3),
    'coco_pose': dict(synth='coco_pose_synth_800.py', pdecoder='pose_coco_800', task='pose',
                      min_lines=100, min_per_class=100),
    'nyu_depth': dict(synth='nyu_depth_synth_50.py', pdecoder='depth_nyu_50', task='depth',
                      min_lines=100, min_per_class=3),
}
NAMES = sorted(SETTINGS)


def _cfg(name):
    return Config.fromfile(osp.join(GENERATE, f'{name}.py'))


def _expected_classes(name):
    if name == 'voc_semantic':
        from mmseg.datasets import PascalVOCDataset
        return tuple(PascalVOCDataset.METAINFO['classes'][1:])
    if name == 'coco_instance':
        from mmdet.datasets import CocoDataset
        return tuple(CocoDataset.METAINFO['classes'])
    if name == 'coco_pose':
        return ('person', )
    return NYU_OBJECTS


def _last_checkpoint(pdecoder_cfg):
    """The file name of the last checkpoint the P-Decoder's schedule writes."""
    train_cfg = pdecoder_cfg.train_cfg
    hook = pdecoder_cfg.default_hooks.checkpoint
    assert hook.get('save_last', True)
    if train_cfg.get('by_epoch') or train_cfg.get('type') == 'EpochBasedTrainLoop':
        return f'epoch_{train_cfg.max_epochs}.pth'
    return f'iter_{train_cfg.max_iters}.pth'


@pytest.mark.parametrize('name', NAMES)
def test_config_decoder_output_and_settings(name):
    setting = SETTINGS[name]
    cfg = _cfg(name)
    assert cfg.task == setting['task']
    assert cfg.decoder.config == f'configs/pdecoder/{setting["pdecoder"]}.py'
    assert osp.isfile(osp.join(ROOT, cfg.decoder.config))
    pdecoder = Config.fromfile(osp.join(ROOT, cfg.decoder.config))
    assert cfg.decoder.checkpoint == \
        f'work_dirs/{setting["pdecoder"]}/{_last_checkpoint(pdecoder)}'
    # the synthetic set is written where the mixing config reads it
    synth = Config.fromfile(osp.join(ROOT, 'configs', setting['synth']))
    assert cfg.out_dir == synth.synthetic.data_root
    assert cfg.device == 'cuda' and cfg.batch_size == 4
    assert isinstance(cfg.num_samples, int) and cfg.num_samples >= 20000
    sampling = SamplingConfig(**cfg.sampling)
    assert (sampling.steps, sampling.guidance_scale) == (50, 7.5)
    assert (sampling.height, sampling.width) == (512, 512)
    assert sampling.scheduler == dict(type='DDIMScheduler')
    # read at the decoder's own timestep (the engine's default when neither is set)
    assert sampling.capture_step is None and sampling.capture_timestep is None
    FilterConfig(**cfg.filters)
    assert cfg.writer.image_ext == 'jpg'


def test_filters_and_writers_suit_each_task():
    voc, coco, pose, nyu = (_cfg(n) for n in
                            ('voc_semantic', 'coco_instance', 'coco_pose', 'nyu_depth'))
    voc_filters = FilterConfig(**voc.filters)
    assert (voc_filters.min_confidence, voc_filters.max_ignore_fraction,
            voc_filters.min_class_fraction, voc_filters.require_prompted) == (0.5, 0.3, 0.01, True)
    assert voc.writer.palette == 'voc'
    coco_filters = FilterConfig(**coco.filters)
    assert (coco_filters.min_score, coco_filters.min_area, coco_filters.require_prompted) == \
        (0.5, 64, True)
    pose_filters = FilterConfig(**pose.filters)
    assert (pose_filters.min_score, pose_filters.min_keypoint_score) == (0.3, 0.3)
    assert 'extra limbs' in SamplingConfig(**pose.sampling).negative_prompt
    assert FilterConfig(**nyu.filters).require_prompted is False
    # the depth PNGs are undone by the synthetic set's own LoadDepthAnnotation
    synth = Config.fromfile(osp.join(ROOT, 'configs', 'nyu_depth_synth_50.py'))
    load = [t for t in synth.synthetic.pipeline if t.type == 'LoadDepthAnnotation']
    assert load and abs(load[0].depth_rescale_factor * nyu.writer.depth_scale - 1) < 1e-9
    assert (voc.num_samples, coco.num_samples, pose.num_samples, nyu.num_samples) == \
        (40000, 80000, 40000, 20000)


@pytest.mark.parametrize('name', NAMES)
def test_classes_in_the_real_dataset_order(name):
    cfg = _cfg(name)
    expected = _expected_classes(name)
    assert tuple(cfg.classes) == expected
    assert tuple(cfg.prompts.source.classes) == expected
    pdecoder = Config.fromfile(osp.join(ROOT, cfg.decoder.config))
    if name == 'voc_semantic':
        assert tuple(pdecoder.class_names) == ('background', ) + expected
    elif name == 'coco_instance':
        assert tuple(pdecoder.class_names) == expected
    elif name == 'nyu_depth':
        # a depth decoder's classes are its backbone's class_names: set to the object words
        pdecoder.merge_from_dict(cfg.decoder.cfg_options)
        assert tuple(pdecoder.model.backbone.class_names) == expected
    else:
        assert cfg.decoder.cfg_options == {}


@pytest.mark.parametrize('name', NAMES)
def test_template_prompts_name_their_class(name):
    cfg = _cfg(name)
    sampler = PromptSampler(**cfg.prompts, num_prompts=2000)
    records = list(sampler)
    for record in records:
        assert record.target in record.classes, record.text
        assert record.target in record.words
        assert len(record.text.split()) <= 35, record.text  # well inside CLIP's 77 tokens
    assert {r.target for r in records} == set(cfg.classes)  # every class is reached
    distinct = {r.text for r in records}
    assert len(distinct) >= (100 if name == 'voc_semantic' else 500)
    assert sampler[7] == PromptSampler(**cfg.prompts, num_prompts=2000)[7]


def test_voc_prompts_use_natural_words_sub_types_and_scenes():
    cfg = _cfg('voc_semantic')
    records = list(PromptSampler(**cfg.prompts, num_prompts=2000))
    by_class = {}
    for r in records:
        by_class.setdefault(r.target, set()).add(r.text)
    assert min(len(v) for v in by_class.values()) >= 50
    texts = ' '.join(r.text for r in records)
    for word in ('dining table', 'potted plant', 'motorcycle', 'television', 'corgi dog',
                 'jumbo jet'):
        assert word in texts
    for joined in ('diningtable', 'pottedplant', 'tvmonitor'):
        assert joined not in texts  # VOC's joined names are never written
    assert any(r.text.endswith('at sunset') for r in records)


def test_pose_and_nyu_prompts_name_people_and_objects():
    pose = list(PromptSampler(**_cfg('coco_pose').prompts, num_prompts=500))
    several = [r for r in pose if len(r.words['person']) > 1]
    assert len(several) > 100  # a second person (partner, friends, teammate) is common
    nyu = list(PromptSampler(**_cfg('nyu_depth').prompts, num_prompts=500))
    assert sum(len(r.classes) >= 3 for r in nyu) > 250  # a room with its objects named
    assert any('a kitchen with a table, chairs and a refrigerator' in r.text for r in nyu)


def _prompt_file_source(name):
    cfg = Config.fromfile(osp.join(GENERATE, f'{name}_llm.py'))
    source = cfg.prompts.source
    assert source.type == 'PromptFile'
    assert source.path == f'configs/generate/prompts/{name}.txt'
    return cfg, source


@pytest.mark.parametrize('name', NAMES)
def test_prompt_files_parse_and_cover_every_class(name):
    cfg, source = _prompt_file_source(name)
    base = _cfg(name)
    assert cfg.out_dir == base.out_dir and cfg.decoder == base.decoder
    path = osp.join(ROOT, source.path)
    with open(path, encoding='utf-8') as f:
        first = f.readline()
    assert first.startswith('#')
    prompts = PromptFile(path, source.classes, synonyms=source.synonyms)
    assert tuple(prompts.classes) == _expected_classes(name)
    assert len(prompts.prompts) >= SETTINGS[name]['min_lines']
    assert len(set(prompts.prompts)) == len(prompts.prompts)  # no repeated line
    counts = {c: len(prompts.by_class[c]) for c in prompts.classes}
    assert min(counts.values()) >= SETTINGS[name]['min_per_class'], counts
    assert all(len(p.split()) <= 35 for p in prompts.prompts)
    # the *_llm config samples from it, every record naming its class
    records = list(PromptSampler(**{k: v for k, v in cfg.prompts.items()}, num_prompts=300))
    assert all(r.target in r.classes for r in records)


@pytest.fixture(scope='module')
def tiny_lm(tmp_path_factory):
    # a byte per token: room for NYU's long openings
    return make_tiny_causal_lm(tmp_path_factory.mktemp('causal_lm'), n_positions=256)


@pytest.mark.parametrize('name', NAMES)
def test_write_prompt_file_with_a_local_language_model(name, tiny_lm, tmp_path, capsys):
    tool = load_tool('tools/misc/write_prompt_file.py')
    out = tmp_path / f'{name}.txt'
    config = osp.join(GENERATE, f'{name}.py')
    pool = dict(voc_semantic=2, coco_pose=6).get(name, 1)
    assert tool.main([config, '--model-dir', tiny_lm, '--out', str(out), '--pool-size',
                      str(pool), '--max-new-tokens', '6']) == 0
    assert 'wrote' in capsys.readouterr().out
    text = out.read_text(encoding='utf-8')
    head = [line for line in text.splitlines() if line.startswith('#')]
    lines = [line for line in text.splitlines() if not line.startswith('#')]
    assert text.startswith('# Prompt file of ') and any('--model-dir' in h for h in head)
    cfg = _cfg(name)
    source = cfg.prompts.source
    # read as the *_llm.py configs read their file
    prompts = PromptFile(str(out), source.classes, synonyms=source.synonyms)
    assert len(prompts.prompts) == len(lines) == pool * len(source.classes)
    assert all(len(prompts.by_class[c]) >= pool for c in source.classes)
    # each line is the config's rendered template (same seed), continued by the model
    from mmdatasetdm.generation.prompts import LanguageModelPrompts
    kwargs = {k: v for k, v in source.items() if k != 'type'}
    openings = LanguageModelPrompts(pool_size=pool, seed=cfg.prompts.seed, **kwargs)
    expected = [openings.description(c, j) for c in source.classes for j in range(pool)]
    assert all(line.startswith(o) for line, o in zip(lines, expected))
    assert any(len(line) > len(o) for line, o in zip(lines, expected))
    # the same model, config and seed write the same lines
    again = tmp_path / 'again.txt'
    tool.main([config, '--model-dir', tiny_lm, '--out', str(again), '--pool-size', str(pool),
               '--max-new-tokens', '6'])
    assert [line for line in again.read_text(encoding='utf-8').splitlines()
            if not line.startswith('#')] == lines


def test_write_prompt_file_refuses_what_it_cannot_use(tmp_path):
    tool = load_tool('tools/misc/write_prompt_file.py')
    out = str(tmp_path / 'p.txt')
    with pytest.raises(SystemExit, match='not a folder'):
        tool.main([osp.join(GENERATE, 'voc_semantic.py'), '--model-dir',
                   str(tmp_path / 'nope'), '--out', out])
    (tmp_path / 'lm').mkdir()
    with pytest.raises(SystemExit, match='not one of'):
        tool.main([osp.join(GENERATE, 'voc_semantic_llm.py'), '--model-dir',
                   str(tmp_path / 'lm'), '--out', out])
    assert not osp.exists(out)
