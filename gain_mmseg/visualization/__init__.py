from .attention_maps import colorize, heatmap_overlay, picture_grid, save_rgb
from .attention_panels import attention_panels

__all__ = ['attention_panels', 'colorize', 'heatmap_overlay', 'picture_grid', 'save_rgb']
