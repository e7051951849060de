"""Eq. 1-2: the analytic CAM path equals autograd Grad-CAM; batching by rank is exact."""
import torch

from gain_mmseg.models.attention import cam, grad_cam, label_pairs, normalize_attention

from conftest import build_tiny


def _pairs() -> tuple:
    labels = torch.tensor([[1, 1, 0], [0, 0, 1], [1, 1, 1]], dtype=torch.bool)
    return label_pairs(labels)


def test_cam_equals_gradcam_for_gap_linear_head():
    head = build_tiny().decode_head
    feats = torch.rand(3, 64, 6, 6, requires_grad=True)
    scores = head.classify(feats)
    img_idx, cls_idx = _pairs()
    fast = cam(feats, head.conv_seg.weight.flatten(1), img_idx, cls_idx)
    slow = grad_cam(feats, scores, img_idx, cls_idx, create_graph=False)
    assert fast.shape == (6, 6, 6)
    assert fast.max() > 0
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(normalize_attention(fast), normalize_attention(slow),
                               atol=1e-5, rtol=0)


def test_gradcam_batched_equals_one_pair_at_a_time():
    head = build_tiny(num_convs=2).decode_head.eval()
    assert not head.use_cam
    feats = torch.rand(3, 64, 6, 6, requires_grad=True)
    scores = head.classify(feats)
    img_idx, cls_idx = _pairs()
    batched = grad_cam(feats, scores, img_idx, cls_idx, create_graph=False)
    for p in range(img_idx.numel()):
        grads, = torch.autograd.grad(scores[img_idx[p], cls_idx[p]], feats, retain_graph=True)
        weights = grads[img_idx[p]].sum(dim=(1, 2))
        expected = torch.relu((weights[:, None, None] * feats[img_idx[p]]).sum(0))
        torch.testing.assert_close(batched[p], expected, atol=1e-6, rtol=1e-5)


def test_gradcam_is_differentiable_when_asked():
    head = build_tiny(num_convs=1).decode_head
    feats = torch.rand(2, 64, 6, 6, requires_grad=True)
    scores = head.classify(feats)
    maps = grad_cam(feats, scores, torch.tensor([0, 1]), torch.tensor([2, 0]),
                    create_graph=True)
    maps.sum().backward()
    assert head.convs[0].conv.weight.grad.abs().sum() > 0


def test_head_predict_same_for_both_paths():
    model = build_tiny().eval()
    feats = model.extract_feat(torch.randn(2, 3, 48, 48))
    metas = [dict(img_shape=(48, 48), pad_shape=(48, 48), img_labels=[0, 1, 3]),
             dict(img_shape=(48, 48), pad_shape=(48, 48), img_labels=[2])]
    fast = model.decode_head.predict(feats, metas, {})
    model.decode_head.use_cam = False
    slow = model.decode_head.predict(feats, metas, {})
    assert fast.shape == (2, 4, 48, 48)
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=0)
    # Background is the constant threshold; absent classes score zero.
    torch.testing.assert_close(fast[:, 0], torch.full_like(fast[:, 0], 0.15))
    assert torch.all(fast[0, 2] == 0) and fast[0, 1].max() > 0.9
