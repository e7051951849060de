from .attention_mining_head import AttentionMiningHead

__all__ = ['AttentionMiningHead']
