from .dist import get_dist_info, setup_distributed

__all__ = ['setup_distributed', 'get_dist_info']
