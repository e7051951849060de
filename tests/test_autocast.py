"""Numerical safety under autocast (bf16 on CPU, fp16 on CUDA when present): the losses of
CAM, GAIN and GAIN_ext, their gradients and the pseudo-mask attention stay finite, on real
inputs and on all-zero ones."""
import pytest
import torch
from mmengine.runner.amp import autocast

from gain_mmseg.pseudo_masks import PseudoMaskGenerator

from conftest import blocks_mask, build_tiny, make_sample

DEVICES = [('cpu', torch.bfloat16)] + (
    [('cuda', torch.float16)] if torch.cuda.is_available() else [])


def _samples(pixel_supervised: bool):
    return [make_sample(blocks_mask(48, [1, 2]), pixel_supervised),
            make_sample(blocks_mask(48, [3]), False),
            make_sample(torch.zeros(48, 48, dtype=torch.long), pixel_supervised)]


@pytest.mark.parametrize('device, dtype', DEVICES)
@pytest.mark.parametrize('variant', ['cam', 'gain', 'gain_ext'])
@pytest.mark.parametrize('inputs', ['random', 'zeros'])
def test_losses_and_gradients_are_finite_under_autocast(device, dtype, variant, inputs):
    loss = dict(loss_weight_am=0.0) if variant == 'cam' else dict(loss_weight_e=1.0)
    model = build_tiny(loss=loss).to(device)
    torch.manual_seed(0)
    images = (torch.randn(3, 3, 48, 48) if inputs == 'random'
              else torch.zeros(3, 3, 48, 48)).to(device)
    samples = [s.to(device) for s in _samples(variant == 'gain_ext')]
    with autocast(device_type=device, dtype=dtype):
        # The network really runs in reduced precision (else this test proves nothing).
        assert model.extract_feat(images)[-1].dtype == dtype
        losses = model.loss(images, samples)
    expected = {'loss_cl'} | (set() if variant == 'cam' else {'loss_am'}) | (
        {'loss_e'} if variant == 'gain_ext' else set())
    assert expected <= set(losses)
    for name, value in losses.items():
        assert torch.isfinite(value.float()).all(), f'{name} = {value}'
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    if variant != 'cam':  # the attention-mining stream really ran in reduced precision
        assert float(losses['loss_am']) > 0


@pytest.mark.parametrize('device, dtype', DEVICES)
@pytest.mark.parametrize('inputs', ['random', 'zeros'])
def test_pseudo_mask_attention_is_finite_under_autocast(device, dtype, inputs):
    model = build_tiny().eval().to(device)
    torch.manual_seed(0)
    images = (torch.randn(2, 3, 48, 40) if inputs == 'random'
              else torch.zeros(2, 3, 48, 40)).to(device)
    labels = torch.tensor([[1, 0, 1], [0, 1, 0]], dtype=torch.bool, device=device)
    gen = PseudoMaskGenerator(model, scales=(0.5, 1.0, 1.5), flip=True)
    with torch.no_grad():
        reference = gen.fused_attention(images, labels)[2]
        with autocast(device_type=device, dtype=dtype):
            assert model.extract_feat(images)[-1].dtype == dtype
            maps = gen.fused_attention(images, labels)[2]
    assert maps.shape == reference.shape == (3, 48, 40)
    assert torch.isfinite(maps.float()).all()
    assert float(maps.min()) >= 0 and float(maps.max()) <= 1 + 1e-3
    if inputs == 'random':  # reduced precision, the same maps to within its resolution
        assert float((maps.float() - reference).abs().max()) < 0.1
