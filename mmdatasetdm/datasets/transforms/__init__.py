from .prompt import AddPrompt

__all__ = ['AddPrompt']
