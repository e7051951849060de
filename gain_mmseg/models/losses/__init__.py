from .gain_loss import GAINLoss

__all__ = ['GAINLoss']
