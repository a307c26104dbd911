# What the four paper-setting generation configs share: Stable Diffusion 1.5 sampled as a user
# of SD-1.5 expects it (50 DDIM steps, classifier-free guidance 7.5, 512x512, the model's
# native size), JPEG images like the real sets, and a CUDA device.
#
# Features are read at the sampling step nearest the timestep the P-Decoder was trained at
# (the engine's default when neither capture_step nor capture_timestep is set), so they are
# left unset here. A child replaces any entry, e.g. `sampling = dict(steps=25,
# scheduler=dict(type='DPMSolverMultistepScheduler'))` for a faster run.
sampling = dict(
    steps=50,
    guidance_scale=7.5,
    scheduler=dict(type='DDIMScheduler'),
    height=512,
    width=512,
    negative_prompt=None)
# JPEG at quality 95: VOC, COCO and NYU ship JPEG images, and 40k-80k PNGs of 512x512 would
# take several times the disk. Labels (masks, depth) are always lossless PNG.
writer = dict(image_ext='jpg', jpeg_quality=95)
# images per sampling call: a conservative value for SD-1.5 at 512x512 with feature capture;
# raise it on a large GPU (it is part of a run's identity: --resume needs the same value)
batch_size = 4
device = 'cuda'
