"""The one home of the pseudo-mask settings: the config's ``pseudo_mask = dict(...)``.

The stage-1 hook (:class:`CAMPseudoLabelHook`), ``tools/gen_pseudo_labels.py``,
``tools/visualize_attention.py``, the pipeline and the ablation all read them here; command-line
flags override a setting only when given.
"""
import inspect
from typing import Any, Dict

from gain_mmseg.pseudo_masks.generator import PseudoMaskGenerator

# Every setting and its default: the keyword arguments of PseudoMaskGenerator, where they are
# documented (one home: the signature).
PSEUDO_MASK_DEFAULTS: Dict[str, Any] = {
    name: p.default
    for name, p in inspect.signature(PseudoMaskGenerator.__init__).parameters.items()
    if p.default is not inspect.Parameter.empty}


def pseudo_mask_settings(cfg, **overrides) -> Dict[str, Any]:
    """The generator settings of ``cfg`` (``cfg.pseudo_mask`` over the defaults), with the
    ``overrides`` that are not None on top. Unknown keys are an error naming the key."""
    given = dict(cfg.get('pseudo_mask', None) or {})
    unknown = sorted(set(given) - set(PSEUDO_MASK_DEFAULTS))
    if unknown:
        raise KeyError(f'unknown pseudo_mask setting(s) {unknown} in the config; known: '
                       f'{sorted(PSEUDO_MASK_DEFAULTS)}')
    settings = {**PSEUDO_MASK_DEFAULTS, **given}
    settings.update({k: v for k, v in overrides.items() if v is not None})
    settings['scales'] = tuple(settings['scales'])
    if settings['ignore_band'] is not None:
        settings['ignore_band'] = tuple(settings['ignore_band'])
    return settings


def settings_record(settings: Dict[str, Any]) -> Dict[str, Any]:
    """``settings`` as JSON stores them (tuples as lists, keys sorted), so that a record read
    back compares equal to a fresh one."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in sorted(settings.items())}
