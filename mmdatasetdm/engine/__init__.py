"""Training-time parts of mmdatasetdm: hooks (registered in ``mmdatasetdm.registry.HOOKS``)."""
from .hooks import OnlineGenerationHook

__all__ = ['OnlineGenerationHook']
