"""Hooks of mmdatasetdm."""
from .online_generation import OnlineGenerationHook

__all__ = ['OnlineGenerationHook']
