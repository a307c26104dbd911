# The runtime every demo downstream base shares (seg/inst/depth/pose_downstream.py): the
# project's default runtime (iteration-based logging, one kept checkpoint, gloo, seed 0) with
# a log line every 50 iterations. Each base adds its checkpoint interval, its toolbox's
# visualization hook and visualizer (with no fixed `name`, so two runs in one process, e.g.
# projects/demo_world/tools/headroom.py, do not share one visualizer).
_base_ = ['../../../../configs/_base_/default_runtime.py']
default_hooks = dict(logger=dict(interval=50))
# the demo world's dataset types (mmdatasetdm.DemoWorld*Dataset) live in the project
custom_imports = dict(imports=['mmdatasetdm', 'projects.demo_world.demo_world'],
                      allow_failed_imports=False)
