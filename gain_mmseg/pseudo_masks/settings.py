"""The one home of the pseudo-mask settings: the config's ``pseudo_mask = dict(...)``.

The stage-1 hook (:class:`CAMPseudoLabelHook`), ``tools/gen_pseudo_labels.py``,
``tools/visualize_attention.py``, the pipeline and the ablation all read them here; command-line
flags override a setting only when given.
"""
from typing import Any, Dict

# Defaults of every setting, documented in PseudoMaskGenerator.
PSEUDO_MASK_DEFAULTS: Dict[str, Any] = dict(
    scales=(0.5, 1.0, 1.5, 2.0),
    flip=True,
    bg_threshold=0.15,
    bg_power=None,
    ignore_band=None,
    crf=False,
    ref_size=None,
)


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
