"""Pictures of datasets: overlays drawn by each toolbox's visualizer, tiled into PNG grids.

* :mod:`.grid` tiles images of any sizes into one grid image;
* :mod:`.overlay` draws a packed data sample's ground truth (semantic, depth,
  instance, pose) with mmseg / mmdet / mmpose's own visualizers;
* :mod:`.browse` does that for the first samples of a config's dataset
  (``tools/analysis_tools/browse_dataset.py``);
* :mod:`.gallery` draws generated samples with their annotations from a
  generated dataset folder (``manifest.jsonl`` + files).

The toolboxes are imported only when something is drawn.
"""
from .browse import BrowseError, BrowseResult, browse_dataset, build_browse_dataset, raw_pipeline
from .gallery import synthetic_gallery
from .grid import GridGeometry, grid_geometry, save_png, tile_images
from .overlay import TASKS, build_visualizer, detect_task, draw_sample, sample_image

__all__ = [
    'BrowseError', 'BrowseResult', 'browse_dataset', 'build_browse_dataset', 'raw_pipeline',
    'synthetic_gallery', 'GridGeometry', 'grid_geometry', 'save_png', 'tile_images', 'TASKS',
    'build_visualizer', 'detect_task', 'draw_sample', 'sample_image'
]
