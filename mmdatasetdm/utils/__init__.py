from .dist import adapt_runner_config, get_dist_info, setup_distributed, teardown_distributed

__all__ = ['setup_distributed', 'teardown_distributed', 'get_dist_info', 'adapt_runner_config']
