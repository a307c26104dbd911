from .dist import adapt_runner_config, get_dist_info, setup_distributed, teardown_distributed
from .env import library_versions

__all__ = [
    'adapt_runner_config', 'get_dist_info', 'setup_distributed', 'teardown_distributed',
    'library_versions'
]
