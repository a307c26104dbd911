"""Captions that name the classes and attributes in a scene.

Example: ``"a photo of a red car, two cones and a person in blue on grass at dusk"``.
Objects are mentioned in the order of their visible area (largest first); a
class seen once gets its colour, a class seen several times gets a count.
"""
from collections import OrderedDict
from typing import Dict, List, Sequence

from .appearance import GROUND_PHRASES, SKY_PHRASES
from .scene import Scene

_NUMBERS = {2: 'two', 3: 'three', 4: 'four', 5: 'five', 6: 'six', 7: 'seven', 8: 'eight'}


def _article(word: str) -> str:
    return 'an' if word[0] in 'aeiou' else 'a'


def _join(items: Sequence[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ', '.join(items[:-1]) + ' and ' + items[-1]


def _class_phrases(scene: Scene, visible_area: Dict[int, int], min_area: int) -> List[str]:
    """One phrase per class shown, largest visible area first."""
    shown = sorted((k for k, a in visible_area.items() if a >= min_area),
                   key=lambda k: (-visible_area[k], k))
    by_class = OrderedDict()
    for k in shown:
        by_class.setdefault(scene.objects[k - 1].category, []).append(scene.objects[k - 1])
    phrases = []
    for category, objs in by_class.items():
        if len(objs) > 1:
            plural = 'people' if category == 'person' else category + 's'
            phrases.append(f'{_NUMBERS.get(len(objs), "many")} {plural}')
        elif category == 'person':
            phrases.append(f'a person in {objs[0].color_name}')
        else:
            phrases.append(f'{_article(objs[0].color_name)} {objs[0].color_name} {category}')
    return phrases


def _sentence(scene: Scene, phrases: Sequence[str]) -> str:
    subject = _join(phrases) if phrases else 'an empty scene'
    words = ['a photo of', subject, GROUND_PHRASES[scene.background.ground],
             SKY_PHRASES[scene.background.sky]]
    return ' '.join(w for w in words if w)


def caption_scene(scene: Scene, visible_area: Dict[int, int], min_area: int = 1) -> str:
    """Caption a scene.

    Args:
        scene (Scene): The scene.
        visible_area (dict[int, int]): Instance id (1-based index into
            ``scene.objects``) -> visible pixel count after occlusion.
        min_area (int): Objects with fewer visible pixels are not mentioned.

    Returns:
        str: The caption (lower case, no final full stop).
    """
    return _sentence(scene, _class_phrases(scene, visible_area, min_area))


def partial_captions(scene: Scene, visible_area: Dict[int, int], min_area: int = 1) -> List[str]:
    """Captions that each name one of the classes shown, and nothing else.

    The full caption names every object, so a text-to-image model trained on
    it alone learns that "a photo of a cone" means a scene with a cone and
    nothing else in it, which few images show. These shorter captions are
    true of the image as well (as most web captions name only some of what an
    image shows) and teach the model that a named class is *present*.

    Args:
        scene (Scene): The scene.
        visible_area (dict[int, int]): As in :func:`caption_scene`.
        min_area (int): As in :func:`caption_scene`.

    Returns:
        list[str]: One caption per class shown when there are at least two
        classes, else an empty list (the full caption already is one).
    """
    phrases = _class_phrases(scene, visible_area, min_area)
    if len(phrases) < 2:
        return []
    return [_sentence(scene, [phrase]) for phrase in phrases]
