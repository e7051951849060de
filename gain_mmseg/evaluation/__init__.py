from .results_table import format_row, write_results

__all__ = ['format_row', 'write_results']
