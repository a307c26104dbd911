"""Write a generation config's prompt file with a local causal language model.

    python tools/misc/write_prompt_file.py CONFIG --model-dir DIR --out FILE [--pool-size N] \
        [--seed S] [--max-new-tokens T] [--device cpu]

CONFIG is a generation config whose prompt source is template based
(``TemplatePrompts``, ``LanguageModelPrompts`` or a subclass, e.g.
``configs/generate/voc_semantic.py``). Its templates, sub-types, fields, class
names and synonyms become a :class:`~mmdatasetdm.generation.prompts.LanguageModelPrompts`
with ``model_dir=DIR``: for each class, ``--pool-size`` prompts are a rendered
template that the model continues (so each names its class), written one a line
by ``save_prompt_file``, under a ``#`` header that says how the file was made.
The file is then read back with ``PromptFile`` as the ``*_llm.py`` configs
read it, and the number of lines per class is printed.

DIR is a folder written by ``save_pretrained`` (a causal LM and its tokenizer),
loaded with ``transformers``' ``AutoModelForCausalLM`` / ``AutoTokenizer``; the
Hugging Face Hub is never contacted (offline mode is forced). The lines depend
only on the model's files, the config's source and ``--seed``.
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config

TEMPLATE_SOURCES = ('TemplatePrompts', 'LanguageModelPrompts')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Write the prompt file of a generation config with a local causal LM')
    parser.add_argument('config', help='generation config with a template prompt source')
    parser.add_argument('--model-dir', required=True,
                        help='local folder of a causal LM and its tokenizer (save_pretrained)')
    parser.add_argument('--out', required=True, help='prompt file to write')
    parser.add_argument('--pool-size', type=int, default=100, help='prompts per class')
    parser.add_argument('--seed', type=int,
                        help="seed of the prompts (default: the config's prompts.seed)")
    parser.add_argument('--max-new-tokens', type=int, default=24,
                        help='tokens the model adds to each rendered template')
    parser.add_argument('--max-words', type=int, default=40,
                        help='words kept per prompt (CLIP reads 77 tokens)')
    parser.add_argument('--temperature', type=float, default=0.9)
    parser.add_argument('--top-p', type=float, default=0.95)
    parser.add_argument('--device', default='cpu',
                        help='where the LM runs (cpu keeps the file reproducible)')
    return parser.parse_args(argv)


def template_source(cfg: Config, path: str) -> dict:
    """The template arguments of the config's prompt source.

    The source is built from the registry without its language-model options,
    so a subclass of ``TemplatePrompts`` (e.g. a project's source that fills
    the templates with its own words) gives the templates, sub-types, fields,
    class names and synonyms it renders with.

    Args:
        cfg (Config): the generation config.
        path (str): its file (for messages).

    Returns:
        dict: ``TemplatePrompts`` keyword arguments (classes, templates, ...).
    """
    from mmdatasetdm.generation.prompts import TemplatePrompts
    from mmdatasetdm.registry import PROMPTS
    source = (cfg.get('prompts') or {}).get('source')
    if not isinstance(source, dict):
        raise SystemExit(f'{path}: prompts.source is not a prompt source config')
    source = source.to_dict()
    for key in ('model_dir', 'pool_size', 'seed', 'max_new_tokens', 'max_words', 'temperature',
                'top_p', 'device'):
        source.pop(key, None)  # given on the command line
    kind = source.get('type')
    built_by = PROMPTS.get(kind) if isinstance(kind, str) and kind else kind
    if not (isinstance(built_by, type) and issubclass(built_by, TemplatePrompts)):
        raise SystemExit(f'{path}: its prompt source is {kind or "untyped"}, not one of '
                         f'{TEMPLATE_SOURCES} or a subclass; give the template config the file '
                         'belongs to (e.g. configs/generate/voc_semantic.py, not '
                         'voc_semantic_llm.py)')
    built = PROMPTS.build(source)
    return dict(classes=list(built.classes), templates=built.templates,
                attributes=built.attributes, fields=built.fields, class_names=built.class_names,
                synonyms=built.matcher.words)


def header(args, seed: int) -> str:
    return ''.join(f'# {line}\n' for line in [
        f'Prompt file of {args.config}: one prompt a line, each naming its class; written by',
        f'tools/misc/write_prompt_file.py with the causal language model in {args.model_dir}',
        f'(pool size {args.pool_size} per class, seed {seed}, max {args.max_new_tokens} new '
        f'tokens, temperature {args.temperature}, top-p {args.top_p}). Regenerate with:',
        f'  python tools/misc/write_prompt_file.py {args.config} --model-dir {args.model_dir} '
        f'--out {args.out} --pool-size {args.pool_size} --seed {seed}',
    ])


def main(argv=None):
    args = parse_args(argv)
    # a local folder only: transformers must not look anything up on the Hub
    os.environ['HF_HUB_OFFLINE'] = '1'
    os.environ['TRANSFORMERS_OFFLINE'] = '1'
    from mmdatasetdm.fileio import atomic_write_text
    from mmdatasetdm.generation.prompts import LanguageModelPrompts, PromptFile

    if args.pool_size < 1:
        raise SystemExit(f'--pool-size must be >= 1, got {args.pool_size}')
    if not osp.isdir(args.model_dir):
        raise SystemExit(f'--model-dir {args.model_dir} is not a folder (expected a causal LM '
                         'and its tokenizer saved with save_pretrained)')
    cfg = Config.fromfile(args.config)
    kwargs = template_source(cfg, args.config)
    seed = int(cfg.prompts.get('seed', 0)) if args.seed is None else args.seed
    source = LanguageModelPrompts(
        model_dir=args.model_dir, pool_size=args.pool_size, seed=seed,
        max_new_tokens=args.max_new_tokens, max_words=args.max_words,
        temperature=args.temperature, top_p=args.top_p, device=args.device, **kwargs)
    out_dir = osp.dirname(osp.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    source.save_prompt_file(args.out)
    with open(args.out, encoding='utf-8') as f:
        lines = f.read()
    atomic_write_text(args.out, header(args, seed) + lines)
    # read back as the *_llm.py configs read it: every line must name a class
    check = PromptFile(args.out, source.classes, synonyms=source.matcher.words)
    written = {c: len(check.by_class[c]) for c in source.classes}
    missing = [c for c, n in written.items() if not n]
    print(f'wrote {len(check.prompts)} prompts to {args.out} ({len(source.classes)} classes, '
          f'{min(written.values())} to {max(written.values())} lines naming each class)')
    if missing:
        print(f'no line names {missing}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
