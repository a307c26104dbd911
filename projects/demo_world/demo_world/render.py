"""Rasterising a :class:`~.scene.Scene` into an image and its ground truth.

Objects are painted far to near (painter's algorithm), so nearer objects
occlude farther ones in the image, the semantic map, the instance map and the
depth map alike. Every object pixel gets the depth of the object's ground
contact; ground pixels get the ground-plane depth (growing towards the
horizon, clipped at ``max_depth``); sky pixels get depth 0 ("no depth").
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from .metainfo import CLASS_IDS, KEYPOINT_NAMES, NUM_KEYPOINTS
from .scene import Camera, ObjectSpec, Scene
from .shapes import PixelGrid, capsule, cylinder_normal, ellipse, flat_normal, polygon_mask
from .texture import fbm, ground_coordinates, ground_texture, noise_table, sky_texture

DEFAULT_MAX_DEPTH = 60.0
SENSOR_NOISE = 0.012

# Keypoint visibility flags (COCO convention).
KPT_UNLABELLED = 0  # outside the image (x = y = 0)
KPT_OCCLUDED = 1    # inside the image, covered by another object
KPT_VISIBLE = 2     # the pixel under the keypoint shows this person


@dataclass
class RenderedScene:
    """Pixels and ground truth of one scene.

    Args:
        image (numpy.ndarray): uint8 RGB image, shape (H, W, 3).
        semantic (numpy.ndarray): uint8 class ids, shape (H, W); 0 = background.
        instances (numpy.ndarray): uint16 instance ids, shape (H, W); pixel
            value ``k > 0`` belongs to ``scene.objects[k - 1]``, 0 = background.
        depth (numpy.ndarray): float32 depth in metres, shape (H, W); 0 = sky.
        keypoints (list[numpy.ndarray | None]): Per object, for the articulated
            class a float array of shape (K, 3) with ``x, y, visibility`` in
            pixel coordinates (pixel ``(i, j)`` covers ``[j, j+1) x [i, i+1)``),
            ``None`` for other classes.
    """
    image: np.ndarray
    semantic: np.ndarray
    instances: np.ndarray
    depth: np.ndarray
    keypoints: List[Optional[np.ndarray]]


@dataclass
class _Part:
    mask: np.ndarray
    normal: np.ndarray
    albedo: np.ndarray  # (3,) or (H, W, 3)
    shininess: float = 0.0


class _ObjectFrame:
    """Maps object-local metres (u right, v up, origin at the ground contact) to pixels."""

    def __init__(self, camera: Camera, obj: ObjectSpec):
        self.scale = camera.focal / obj.depth
        self.x0 = obj.x
        self.y0 = camera.contact_row(obj.depth)

    def __call__(self, u: float, v: float) -> Tuple[float, float]:
        return self.x0 + self.scale * u, self.y0 - self.scale * v

    def points(self, uv) -> List[Tuple[float, float]]:
        return [self(u, v) for u, v in uv]


def _darker(color, factor: float) -> np.ndarray:
    return np.asarray(color, dtype=np.float32) * factor


def _person(grid: PixelGrid, frame: _ObjectFrame,
            obj: ObjectSpec) -> Tuple[List[_Part], np.ndarray]:
    p = obj.params
    hp, build, lean = p['height'], p['build'], p['lean']
    up = np.array([np.sin(lean), np.cos(lean)])
    side = np.array([np.cos(lean), -np.sin(lean)])  # towards the person's left (image right)
    pelvis = np.array([0.0, 0.52 * hp])
    neck = pelvis + 0.30 * hp * up
    head = neck + 0.11 * hp * up
    joints = {'head': head, 'neck': neck}
    for k, (name, sign) in enumerate((('left', 1.0), ('right', -1.0))):
        shoulder = neck + sign * 0.125 * hp * build * side - 0.03 * hp * up
        a, e = p['arm'][k], p['arm'][k] + p['elbow'][k]
        elbow = shoulder + 0.17 * hp * np.array([sign * np.sin(a), -np.cos(a)])
        wrist = elbow + 0.16 * hp * np.array([sign * np.sin(e), -np.cos(e)])
        hip = pelvis + sign * 0.075 * hp * build * side
        t, kb = p['thigh'][k], p['thigh'][k] + p['knee'][k]
        knee = hip + 0.25 * hp * np.array([sign * np.sin(t), -np.cos(t)])
        ankle = knee + 0.25 * hp * np.array([sign * np.sin(kb), -np.cos(kb)])
        joints.update({f'{name}_shoulder': shoulder, f'{name}_elbow': elbow,
                       f'{name}_wrist': wrist, f'{name}_hip': hip, f'{name}_knee': knee,
                       f'{name}_ankle': ankle})
    leg_r = 0.05 * hp * build
    lift = leg_r - min(joints['left_ankle'][1], joints['right_ankle'][1])
    px = {name: frame(j[0], j[1] + lift) for name, j in joints.items()}
    s = frame.scale

    shirt, trousers, skin, hair = obj.color, p['trousers'], p['skin'], p['hair']
    parts = []

    def limb(a, b, r, color):
        mask, normal = capsule(grid, px[a], px[b], r * s)
        parts.append(_Part(mask, normal, np.asarray(color, np.float32)))

    for name in ('left', 'right'):
        limb(f'{name}_hip', f'{name}_knee', leg_r, trousers)
        limb(f'{name}_knee', f'{name}_ankle', 0.9 * leg_r, trousers)
    limb('left_hip', 'right_hip', 0.07 * hp * build, trousers)
    mask, normal = capsule(grid, frame(*(neck - 0.05 * hp * up + [0, lift])),
                           frame(*(pelvis + 0.03 * hp * up + [0, lift])), 0.1 * hp * build * s)
    parts.append(_Part(mask, normal, np.asarray(shirt, np.float32)))
    limb('neck', 'head', 0.035 * hp, skin)
    for name in ('left', 'right'):
        limb(f'{name}_shoulder', f'{name}_elbow', 0.045 * hp * build, shirt)
        limb(f'{name}_elbow', f'{name}_wrist', 0.04 * hp * build, shirt)
        mask, normal = ellipse(grid, px[f'{name}_wrist'], 0.04 * hp * s, 0.04 * hp * s)
        parts.append(_Part(mask, normal, np.asarray(skin, np.float32)))
    head_px = px['head']
    mask, normal = ellipse(grid, head_px, 0.07 * hp * s, 0.08 * hp * s)
    parts.append(_Part(mask, normal, np.asarray(skin, np.float32)))
    hair_mask = mask & (grid.y < head_px[1] - 0.02 * hp * s)
    parts.append(_Part(hair_mask, normal, np.asarray(hair, np.float32)))

    keypoints = np.array([px[name] for name in KEYPOINT_NAMES], dtype=np.float64)
    return parts, keypoints


def _car(grid: PixelGrid, frame: _ObjectFrame, obj: ObjectSpec) -> List[_Part]:
    p = obj.params
    h = p['height']
    body = np.asarray(obj.color, np.float32)
    glass = np.array((0.18, 0.22, 0.28), np.float32)
    tyre = np.array((0.07, 0.07, 0.08), np.float32)
    parts = []
    if p['view'] == 'side':
        half, f = p['length'] / 2, p['facing']
        c0, c1 = p['cabin']
        # cabin: trapezoid on top of the body, slanted windscreen at the front
        u_back, u_front = f * (-half + c0 * 2 * half), f * (-half + c1 * 2 * half)
        cabin = [(u_back, 0.58 * h), (u_front, 0.58 * h),
                 (u_front - f * 0.12 * 2 * half, h), (u_back + f * 0.06 * 2 * half, h)]
        cmask = polygon_mask(grid, frame.points(cabin))
        parts.append(_Part(cmask, flat_normal(cmask, (0, -0.6, 1)), body, 0.3))
        inner = [(u + f * d * 0.04 * 2 * half, v) for (u, v), d in zip(
            [(u_back, 0.62 * h), (u_front, 0.62 * h), (u_front - f * 0.12 * 2 * half, 0.94 * h),
             (u_back + f * 0.06 * 2 * half, 0.94 * h)], (1, -1, -1, 1))]
        wmask = polygon_mask(grid, frame.points(inner))
        parts.append(_Part(wmask, flat_normal(wmask, (0, -0.6, 1)), glass, 0.6))
        bevel = 0.05 * 2 * half
        outline = [(-half, 0.2 * h), (half, 0.2 * h), (half, 0.6 * h - f * 0.1 * h),
                   (half - bevel, 0.6 * h), (-half + bevel, 0.6 * h),
                   (-half, 0.6 * h + f * 0.1 * h)]
        bmask = polygon_mask(grid, frame.points(outline))
        top, bottom = frame(0, 0.6 * h)[1], frame(0, 0.2 * h)[1]
        dy = np.clip((grid.y - (top + bottom) / 2) / max((bottom - top) / 2, 1e-3), -1, 1)
        normal = np.stack([np.zeros_like(dy), dy * 0.8, np.sqrt(1 - 0.64 * dy * dy)])
        normal[:, ~bmask] = 0
        parts.append(_Part(bmask, normal.astype(np.float32), body, 0.5))
        r = 0.2 * h
        for u in (-0.3 * 2 * half, 0.3 * 2 * half):
            mask, normal = ellipse(grid, frame(u, r), r * frame.scale, r * frame.scale)
            parts.append(_Part(mask, normal, tyre))
            mask, normal = ellipse(grid, frame(u, r), 0.45 * r * frame.scale,
                                   0.45 * r * frame.scale)
            parts.append(_Part(mask, normal, np.array((0.6, 0.6, 0.62), np.float32), 0.4))
    else:  # front (or back) view
        half = p['width'] / 2
        for u in (-0.75 * half, 0.75 * half):
            tmask = polygon_mask(grid, frame.points([(u - 0.17 * half, 0), (u + 0.17 * half, 0),
                                                     (u + 0.17 * half, 0.25 * h),
                                                     (u - 0.17 * half, 0.25 * h)]))
            parts.append(_Part(tmask, flat_normal(tmask, (0, 0, 1)), tyre))
        cabin = [(-0.9 * half, 0.58 * h), (0.9 * half, 0.58 * h), (0.7 * half, h), (-0.7 * half, h)]
        cmask = polygon_mask(grid, frame.points(cabin))
        parts.append(_Part(cmask, flat_normal(cmask, (0, -0.5, 1)), body, 0.3))
        wmask = polygon_mask(
            grid,
            frame.points([(-0.8 * half, 0.63 * h), (0.8 * half, 0.63 * h), (0.63 * half, 0.94 * h),
                          (-0.63 * half, 0.94 * h)]))
        parts.append(_Part(wmask, flat_normal(wmask, (0, -0.5, 1)), glass, 0.6))
        bmask = polygon_mask(grid, frame.points([(-half, 0.15 * h), (half, 0.15 * h),
                                                 (half, 0.6 * h), (-half, 0.6 * h)]))
        parts.append(_Part(bmask, cylinder_normal(grid, bmask, frame.x0, half * frame.scale * 1.3),
                           body, 0.5))
        grille = polygon_mask(grid, frame.points([(-0.4 * half, 0.2 * h), (0.4 * half, 0.2 * h),
                                                  (0.4 * half, 0.32 * h), (-0.4 * half, 0.32 * h)]))
        parts.append(_Part(grille, flat_normal(grille, (0, 0, 1)), _darker(body, 0.35)))
        for u in (-0.72 * half, 0.72 * half):
            r = 0.12 * h * frame.scale
            mask, normal = ellipse(grid, frame(u, 0.45 * h), r, r * 0.8)
            parts.append(_Part(mask, normal, np.array((1.0, 0.95, 0.75), np.float32), 0.8))
    return parts


def _cone(grid: PixelGrid, frame: _ObjectFrame, obj: ObjectSpec) -> List[_Part]:
    p = obj.params
    h, b = p['height'], p['base'] * p['height']
    body = np.asarray(obj.color, np.float32)
    plate_h = 0.08 * h
    pmask = polygon_mask(grid, frame.points([(-1.3 * b, 0), (1.3 * b, 0), (1.3 * b, plate_h),
                                             (-1.3 * b, plate_h)]))
    parts = [_Part(pmask, flat_normal(pmask, (0, -0.7, 0.7)), _darker(body, 0.8))]
    tri = polygon_mask(grid,
                       frame.points([(-b, plate_h), (b, plate_h), (0.04 * b, h), (-0.04 * b, h)]))
    apex_y, base_y = frame(0, h)[1], frame(0, plate_h)[1]
    frac = np.clip((grid.y - apex_y) / max(base_y - apex_y, 1e-3), 0.05, 1.0)
    normal = cylinder_normal(grid, tri, frame.x0, b * frame.scale * frac, tilt=0.35)
    parts.append(_Part(tri, normal, body, 0.2))
    lo, hi = frame(0, (p['stripe_pos'] - 0.07) * h)[1], frame(0, (p['stripe_pos'] + 0.07) * h)[1]
    stripe = tri & (grid.y <= lo) & (grid.y >= hi)
    parts.append(_Part(stripe, normal, np.asarray(p['stripe'], np.float32), 0.2))
    return parts


def _tree(grid: PixelGrid, frame: _ObjectFrame, obj: ObjectSpec, grain: np.ndarray) -> List[_Part]:
    p = obj.params
    h = p['height']
    tw = p['trunk_width'] * h / 2
    th = p['trunk_height'] * h
    tmask = polygon_mask(
        grid, frame.points([(-tw, 0), (tw, 0), (0.7 * tw, th * 1.1), (-0.7 * tw, th * 1.1)]))
    parts = [_Part(tmask, cylinder_normal(grid, tmask, frame.x0, tw * frame.scale),
                   np.asarray(p['trunk'], np.float32))]
    leaves = np.asarray(obj.color, np.float32)[None, None, :] * (0.75 + 0.5 * grain[..., None])
    spread = p['spread'] * h
    v0 = 0.8 * th
    if p['kind'] == 'round':
        mask, normal = ellipse(grid, frame(0, (v0 + h) / 2), spread * frame.scale,
                               (h - v0) / 2 * frame.scale)
        parts.append(_Part(mask, normal, leaves))
    else:
        tiers = p['tiers']
        for i in range(tiers):
            base_v = v0 + i * (h - v0) * 0.25
            apex_v = h if i == tiers - 1 else base_v + (h - v0) * 0.55
            half = spread * (1 - 0.2 * i)
            mask = polygon_mask(grid, frame.points([(-half, base_v), (half, base_v), (0, apex_v)]))
            apex_y, base_y = frame(0, apex_v)[1], frame(0, base_v)[1]
            frac = np.clip((grid.y - apex_y) / max(base_y - apex_y, 1e-3), 0.05, 1.0)
            parts.append(
                _Part(mask, cylinder_normal(grid, mask, frame.x0, half * frame.scale * frac, 0.3),
                      leaves))
    return parts


def _ball(grid: PixelGrid, frame: _ObjectFrame, obj: ObjectSpec) -> List[_Part]:
    p = obj.params
    r = p['radius']
    cx, cy = frame(0, r)
    rp = r * frame.scale
    mask, normal = ellipse(grid, (cx, cy), rp, rp)
    parts = [_Part(mask, normal, np.asarray(obj.color, np.float32), 0.8)]
    if p['pattern'] != 'plain':
        ca, sa = np.cos(p['pattern_angle']), np.sin(p['pattern_angle'])
        t = ((grid.x - cx) * ca + (grid.y - cy) * sa) / max(rp, 1e-3)
        second = (t > 0) if p['pattern'] == 'halves' else (np.abs(t) < 0.3)
        parts.append(_Part(mask & second, normal, np.asarray(p['second'], np.float32), 0.8))
    return parts


def _rock(grid: PixelGrid, frame: _ObjectFrame, obj: ObjectSpec) -> List[_Part]:
    p = obj.params
    r, squash = p['radius'], p['squash']
    angles = np.linspace(0, 2 * np.pi, len(p['bumps']), endpoint=False)
    outline = [(r * b * np.cos(a), r * squash * (1 + b * np.sin(a)))
               for a, b in zip(angles, p['bumps'])]
    mask = polygon_mask(grid, frame.points(outline))
    # shaded as the ellipsoid that holds the outline
    _, normal = ellipse(grid, frame(0, r * squash), 1.25 * r * frame.scale,
                        1.25 * r * squash * frame.scale)
    return [_Part(mask, normal, np.asarray(obj.color, np.float32), 0.1)]


def _bush(grid: PixelGrid, frame: _ObjectFrame, obj: ObjectSpec, grain: np.ndarray) -> List[_Part]:
    p = obj.params
    h, w = p['height'], p['width']
    leaves = np.asarray(obj.color, np.float32)[None, None, :] * (0.7 + 0.6 * grain[..., None])
    parts = []
    for du, dv, size in p['lobes']:
        mask, normal = ellipse(grid, frame(du * w, dv * h), size * w * frame.scale,
                               size * h * frame.scale)
        parts.append(_Part(mask, normal, leaves))
    return parts


def _sign(grid: PixelGrid, frame: _ObjectFrame, obj: ObjectSpec) -> List[_Part]:
    p = obj.params
    h, plate = p['height'], p['plate']
    pole_w = 0.035
    pmask = polygon_mask(grid, frame.points([(-pole_w, 0), (pole_w, 0), (pole_w, h), (-pole_w, h)]))
    parts = [_Part(pmask, cylinder_normal(grid, pmask, frame.x0, pole_w * frame.scale),
                   np.asarray(p['pole'], np.float32), 0.4)]
    top, half = h + 0.1 * plate, plate / 2
    if p['shape'] == 'disc':
        mask = ellipse(grid, frame(0, top), half * frame.scale, half * frame.scale)[0]
    elif p['shape'] == 'triangle':
        mask = polygon_mask(grid, frame.points([(-half, top - half), (half, top - half),
                                                (0, top + half)]))
    else:
        mask = polygon_mask(grid, frame.points([(-half, top - half), (half, top - half),
                                                (half, top + half), (-half, top + half)]))
    parts.append(_Part(mask, flat_normal(mask, (0.0, -0.1, 1.0)), np.asarray(obj.color, np.float32),
                       0.3))
    return parts


_FOOTPRINT = {  # shadow width in metres
    'person': lambda p: 0.5 * p['height'] / 1.7,
    'car': lambda p: p['length'] if p['view'] == 'side' else p['width'],
    'cone': lambda p: 2.6 * p['base'] * p['height'],
    'tree': lambda p: 1.5 * p['spread'] * p['height'],
    'ball': lambda p: 2 * p['radius'],
    'rock': lambda p: 2 * p['radius'],
    'bush': lambda p: p['width'],
    'sign': lambda p: 0.3,
}


def _shade(normal: np.ndarray, albedo: np.ndarray, light: np.ndarray, ambient: float,
           diffuse: float, shininess: float) -> np.ndarray:
    """Colours of N pixels. normal: (3, N); albedo: (N, 3) or (3,)."""
    lambert = np.maximum(np.tensordot(light, normal, axes=1), 0.0)
    color = albedo * (ambient + diffuse * lambert)[:, None]
    if shininess > 0:
        half = light + np.array([0.0, 0.0, 1.0])
        half /= np.linalg.norm(half)
        spec = np.maximum(np.tensordot(half, normal, axes=1), 0.0) ** 24
        color = color + shininess * 0.6 * spec[:, None]
    return color


def render_scene(scene: Scene, max_depth: float = DEFAULT_MAX_DEPTH) -> RenderedScene:
    """Render a scene.

    Args:
        scene (Scene): The scene description (objects far to near).
        max_depth (float): Ground depth is clipped at this many metres.

    Returns:
        RenderedScene: image, semantic ids, instance ids, depth and keypoints.
    """
    cam, light, bg = scene.camera, scene.lighting, scene.background
    H, W = cam.height, cam.width
    grid = PixelGrid(H, W)
    tex_rng = np.random.default_rng(bg.texture_seed)
    table = noise_table(tex_rng)
    grain = fbm(table, grid.x * 0.5 + 100.0, grid.y * 0.5, octaves=2)
    l_dir = np.asarray(light.direction, dtype=np.float64)
    tint = np.asarray(light.tint, np.float32) * light.brightness
    fog_color = np.asarray(bg.sky_colors[1], np.float32) * light.brightness

    image = np.zeros((H, W, 3), np.float32)
    depth = np.zeros((H, W), np.float32)
    semantic = np.zeros((H, W), np.uint8)
    instances = np.zeros((H, W), np.uint16)

    ground = grid.y > cam.horizon
    sky = ~ground
    if sky.any():
        image[sky] = sky_texture(bg, cam, grid.y[sky], grid.x[sky], table,
                                 tex_rng) * light.brightness
    if ground.any():
        lateral, z = ground_coordinates(cam, grid.y[ground], grid.x[ground], max_depth)
        depth[ground] = z
        albedo = ground_texture(bg, lateral, z, table, tex_rng)
        lit = light.ambient + light.diffuse * max(-l_dir[1], 0.0)
        shadow = np.ones((H, W), np.float32)
        for obj in scene.objects + scene.clutter:
            frame = _ObjectFrame(cam, obj)
            width = _FOOTPRINT[obj.category](obj.params) * frame.scale
            shift = -l_dir[0] / max(-l_dir[1], 0.3) * 0.3 * width
            mask, _ = ellipse(grid, (frame.x0 + shift, frame.y0), 0.6 * width, 0.15 * width)
            shadow[mask & ground] *= 1.0 - 0.5 * light.diffuse
        color = albedo * (lit * shadow[ground])[:, None] * tint
        fog = (1 - np.exp(-z / light.fog_distance))[:, None]
        image[ground] = color * (1 - fog) + fog_color * fog

    # objects (instance id k > 0) and clutter (id 0: background) in one far-to-near order
    drawables = [(obj, k) for k, obj in enumerate(scene.objects, start=1)]
    drawables += [(obj, 0) for obj in scene.clutter]
    drawables.sort(key=lambda item: -item[0].depth)  # stable: equal depths keep list order
    keypoints: List[Optional[np.ndarray]] = [None] * len(scene.objects)
    for obj, k in drawables:
        frame = _ObjectFrame(cam, obj)
        if obj.category == 'person':
            parts, keypoints[k - 1] = _person(grid, frame, obj)
        elif obj.category == 'car':
            parts = _car(grid, frame, obj)
        elif obj.category == 'cone':
            parts = _cone(grid, frame, obj)
        elif obj.category in ('tree', 'bush'):
            parts = (_tree if obj.category == 'tree' else _bush)(grid, frame, obj, grain)
        elif obj.category == 'ball':
            parts = _ball(grid, frame, obj)
        elif obj.category == 'rock':
            parts = _rock(grid, frame, obj)
        elif obj.category == 'sign':
            parts = _sign(grid, frame, obj)
        else:
            raise ValueError(f'cannot render class {obj.category!r}')
        label = CLASS_IDS[obj.category] if k else 0
        fog = 1 - np.exp(-obj.depth / light.fog_distance)
        for part in parts:
            if not part.mask.any():
                continue
            albedo = part.albedo[part.mask] if part.albedo.ndim == 3 else part.albedo
            albedo = albedo * (0.92 + 0.16 * grain[part.mask])[:, None]
            color = _shade(part.normal[:, part.mask], albedo, l_dir, light.ambient,
                           light.diffuse, part.shininess) * tint
            image[part.mask] = color * (1 - fog) + fog_color * fog
            semantic[part.mask] = label
            instances[part.mask] = k
            depth[part.mask] = obj.depth

    keypoints = [None if kp is None else _keypoint_visibility(kp, instances, k)
                 for k, kp in enumerate(keypoints, start=1)]
    noise = tex_rng.normal(0.0, SENSOR_NOISE, size=image.shape).astype(np.float32)
    image_u8 = np.clip(np.round((image + noise) * 255.0), 0, 255).astype(np.uint8)
    return RenderedScene(image=image_u8, semantic=semantic, instances=instances, depth=depth,
                         keypoints=keypoints)


def _keypoint_visibility(points: np.ndarray, instances: np.ndarray, instance_id: int) -> np.ndarray:
    """Attach COCO visibility flags to pixel keypoints of one person.

    Args:
        points (numpy.ndarray): (K, 2) keypoint pixel coordinates.
        instances (numpy.ndarray): Final instance-id map.
        instance_id (int): This person's instance id.

    Returns:
        numpy.ndarray: (K, 3) ``x, y, v``; ``x = y = 0`` where ``v = 0``.
    """
    H, W = instances.shape
    out = np.zeros((len(points), 3), np.float64)
    assert len(points) == NUM_KEYPOINTS
    for i, (x, y) in enumerate(points):
        if not (0 <= x < W and 0 <= y < H):
            continue
        # truncate to 1/100 px (what the JSON stores) without leaving the pixel
        x, y = np.floor(x * 100) / 100, np.floor(y * 100) / 100
        col, row = int(np.floor(x)), int(np.floor(y))
        flag = KPT_VISIBLE if instances[row, col] == instance_id else KPT_OCCLUDED
        out[i] = (x, y, flag)
    return out


def object_ids(scene: Scene) -> Dict[int, str]:
    """Instance id -> class name of a scene's objects."""
    return {k: obj.category for k, obj in enumerate(scene.objects, start=1)}


__all__ = ['RenderedScene', 'render_scene', 'DEFAULT_MAX_DEPTH', 'KPT_UNLABELLED',
           'KPT_OCCLUDED', 'KPT_VISIBLE', 'object_ids']
