"""Prompts in the demo world's own words, for the generation configs.

The class words, colour words and ground phrases come from the world's
definition (:mod:`.metainfo`, :mod:`.appearance`), the same words its
captions use, so the tiny SD model trained on those captions knows them and a
change to the world's vocabulary reaches the prompts without a second copy.
"""
from typing import Optional, Sequence

from mmdatasetdm.generation import TemplatePrompts
from mmdatasetdm.registry import PROMPTS
from .appearance import CLASS_COLOR_NAMES, GROUND_PHRASES, get_domain
from .metainfo import ARTICULATED_CLASS, OBJECT_CLASSES


def colour_phrase(colour: str) -> str:
    """``'a red'`` / ``'an orange'``: a colour word with its article."""
    return ('an ' if colour[0] in 'aeiou' else 'a ') + colour


def ground_phrases(domain: str = 'default') -> list:
    """The phrases of a domain's grounds in captions (``'on grass'``, ...)."""
    return [GROUND_PHRASES[g] for g in get_domain(domain).grounds]


@PROMPTS.register_module()
class DemoWorldPrompts(TemplatePrompts):
    """:class:`~mmdatasetdm.generation.TemplatePrompts` filled with the world's words.

    ``{cls}`` is a class word (a person is written ``person in <colour>``),
    ``{attr}`` a colour the class is drawn in with its article (people take
    ``a``), ``{ground}`` one of the domain's ground phrases; plurals
    (``cones``, ``people``) count as naming the class.

    Args:
        templates (Sequence[str]): the templates (slots ``{cls}``, ``{attr}``,
            ``{ground}`` and those of ``fields``).
        classes (Sequence[str], optional): the object classes to prompt for
            (default: all of them).
        domain (str): whose grounds fill ``{ground}`` (``'default'``: the
            pool's, which the generator was trained on).
        **fields (Sequence[str]): further slots and their options.
    """

    def __init__(self, templates: Sequence[str], classes: Optional[Sequence[str]] = None,
                 domain: str = 'default', **fields):
        person = ARTICULATED_CLASS
        classes = list(OBJECT_CLASSES if classes is None else classes)
        unknown = sorted(set(classes) - set(OBJECT_CLASSES))
        if unknown:
            raise ValueError(f'DemoWorldPrompts: classes {unknown} are not demo-world classes '
                             f'{list(OBJECT_CLASSES)}')
        super().__init__(
            classes=classes, templates=templates,
            attributes={c: [colour_phrase(x) for x in CLASS_COLOR_NAMES[c]] if c != person
                        else ['a'] for c in classes},
            class_names={person: [f'{person} in {x}' for x in CLASS_COLOR_NAMES[person]]}
            if person in classes else {},
            synonyms={c: ['people' if c == person else c + 's'] for c in classes},
            fields=dict(ground=ground_phrases(domain), **fields))
