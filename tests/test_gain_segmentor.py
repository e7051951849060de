"""Streams S_cl, S_am, S_e of GAINEncoderDecoder and their options (Eq. 3-8)."""
import pytest
import torch

from gain_mmseg.models.losses.gain_loss import GAINLoss
from gain_mmseg.models.segmentors.gain_encoder_decoder import box_blur

from conftest import blocks_mask, build_tiny, clone_samples, make_sample


def _grad_norm(loss, params) -> float:
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return sum(float(g.abs().sum()) for g in grads if g is not None)


def input_attention(model, inputs, samples) -> tuple:
    """(maps (P, H, W) at the input's size, img_idx, cls_idx) of a batch's (image, class)
    pairs, computed as the training step computes them."""
    scores, feats = model.decode_head.forward_cls(model.extract_feat(inputs))
    img_idx, cls_idx = model.image_labels(samples).nonzero(as_tuple=True)
    feat_maps = model._feature_attention(feats, scores, img_idx, cls_idx)
    return model._to_input(feat_maps, inputs), img_idx, cls_idx


def test_am_gradient_reaches_backbone(batch):
    inputs, samples = batch
    model = build_tiny()
    losses = model.loss(inputs, samples)
    assert set(losses) >= {'loss_cl', 'loss_am', 'am_value'}
    backbone = list(model.backbone.parameters())
    assert _grad_norm(losses['loss_am'], backbone) > 0


def test_no_am_loss_when_alpha_zero(batch):
    inputs, samples = batch
    assert 'am_value' not in build_tiny(loss=dict(loss_weight_am=0.0)).loss(inputs, samples)
    model = build_tiny(loss=dict(loss_weight_am=0.0), am_log_when_off=True)
    losses = model.loss(inputs, samples)
    assert 'loss_am' not in losses
    # L_am is still measured (for the logs), without any gradient.
    assert 0 < float(losses['am_value']) < 1 and not losses['am_value'].requires_grad


def test_warmup_and_ramp():
    loss = build_tiny(loss=dict(am_warmup_iters=10, am_ramp_iters=4)).decode_head.loss_decode
    assert [loss.am_weight(i) for i in (0, 9, 10, 11, 13, 100)] == [0, 0, 0.25, 0.5, 1, 1]


def test_masked_image_is_image_minus_mask_times_image():
    model = build_tiny()
    images, masks = torch.randn(2, 3, 8, 8), torch.rand(2, 8, 8)
    torch.testing.assert_close(model.masked_images(images, masks),
                               images - masks[:, None] * images)
    model.am_fill = 'blur'
    blurred = torch.nn.functional.avg_pool2d(images, 15, 1, 7, count_include_pad=False)
    torch.testing.assert_close(model.masked_images(images, masks),
                               images - masks[:, None] * (images - blurred))


@pytest.mark.parametrize('kernel', [1, 3, 15])
def test_separable_box_blur_equals_the_2d_window_mean(kernel):
    images = torch.randn(2, 3, 40, 37)
    expected = torch.nn.functional.avg_pool2d(images, kernel, 1, kernel // 2,
                                              count_include_pad=False)
    torch.testing.assert_close(box_blur(images, kernel), expected, atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match='am_fill_kernel'):
        build_tiny(am_fill='blur', am_fill_kernel=kernel + 1)


def test_soft_mask_is_sigmoid_of_scaled_shift():
    model = build_tiny(am_sigma=0.4, am_omega=8.0)
    maps = torch.rand(2, 5, 5)
    torch.testing.assert_close(model.soft_mask(maps), torch.sigmoid(8.0 * (maps - 0.4)))


def test_background_zone_is_never_erased_nor_mined(batch):
    """``am_bg_zone`` δ (SeeNet's background prior): T(A) is 0 where A < δ and unchanged
    elsewhere, L_am sends no gradient into those pixels, and L_am is the shipped one computed
    with that T(A)."""
    model = build_tiny(am_bg_zone=0.3)
    maps = torch.rand(2, 6, 6, requires_grad=True)
    soft = model.soft_mask(maps)
    plain = torch.sigmoid(10.0 * (maps - 0.5))
    zone = maps.detach() < 0.3
    assert zone.any() and (~zone).any()
    assert (soft[zone] == 0).all()
    torch.testing.assert_close(soft[~zone], plain[~zone])
    grad, = torch.autograd.grad(soft.sum(), maps)
    assert (grad[zone] == 0).all() and (grad[~zone] > 0).all()
    # In training: L_am equals the plain model's with T(A) replaced by the zoned one.
    inputs, samples = batch
    losses = model.loss(inputs, samples)
    plain_model = build_tiny()
    att, img_idx, cls_idx = input_attention(plain_model, inputs, samples)
    masked = plain_model.masked_images(inputs[img_idx], model.soft_mask(att))
    expected = plain_model.decode_head.loss_decode.loss_am(plain_model.score_masked(masked),
                                                           cls_idx)
    torch.testing.assert_close(losses['loss_am'], expected)
    with pytest.raises(ValueError, match='am_bg_zone'):
        build_tiny(am_bg_zone=1.5)


@pytest.mark.parametrize('scoring_grad', [False, True])
def test_scoring_grad_option(scoring_grad):
    model = build_tiny(am_scoring_grad=scoring_grad)
    masked = torch.randn(2, 3, 48, 48, requires_grad=True)
    scores = model.score_masked(masked)
    weight = model.decode_head.conv_seg.weight
    grads = torch.autograd.grad(scores.sum(), [masked, weight], allow_unused=True)
    assert grads[0].abs().sum() > 0  # always reaches the attention through the image
    through_weights = 0 if grads[1] is None else float(grads[1].abs().sum())
    assert (through_weights > 0) == scoring_grad


def test_scoring_grad_false_am_still_trains_classifier_through_attention(batch):
    inputs, samples = batch
    model = build_tiny(am_scoring_grad=False)
    losses = model.loss(inputs, samples)
    assert _grad_norm(losses['loss_am'], [model.decode_head.conv_seg.weight]) > 0


@pytest.mark.parametrize('freeze', [True, False])
def test_masked_stream_bn_statistics(freeze):
    model = build_tiny(am_freeze_bn=freeze)
    bn = model.backbone.layer4[0].bn1
    before = bn.running_mean.clone()
    model.score_masked(torch.randn(2, 3, 48, 48) * 3 + 1)
    changed = not torch.equal(before, bn.running_mean)
    assert changed != freeze
    assert bn.training  # the training mode is restored afterwards


def test_weak_mask_pixels_do_not_leak(batch):
    """A weakly labelled sample contributes its class set only."""
    inputs, samples = batch
    samples[1].set_metainfo({'pixel_supervised': True})
    # Two identical models: a loss call updates BN running statistics, which the masked
    # stream (frozen BN) then reads.
    ref = build_tiny().loss(inputs, clone_samples(samples))
    moved = clone_samples(samples)
    moved[0].gt_sem_seg.data = blocks_mask(48, [2, 1]).flip(0)[None]  # same classes {0, 1, 2}
    other = build_tiny().loss(inputs, moved)
    assert 'loss_e' in ref
    for key in ref:
        torch.testing.assert_close(ref[key], other[key], rtol=0, atol=0)


def test_pixel_supervised_mask_reaches_loss_e(batch):
    inputs, samples = batch
    samples[1].set_metainfo({'pixel_supervised': True})
    model = build_tiny()
    ref = model.loss(inputs, clone_samples(samples))
    moved = clone_samples(samples)
    moved[1].gt_sem_seg.data = blocks_mask(48, [3]).flip(1)[None]
    assert not torch.equal(ref['loss_e'], build_tiny().loss(inputs, moved)['loss_e'])
    assert _grad_norm(ref['loss_e'], list(model.backbone.parameters())) > 0


def test_loss_e_value_matches_definition():
    model = build_tiny()
    attention = torch.tensor([[[0.0, 1.0], [0.5, 0.2]]])
    target = torch.tensor([[[0, 1], [1, 0]]])
    valid = torch.tensor([[[True, True], [True, False]]])
    expected = (0.0 + 0.0 + 0.25) / 3
    value = model.decode_head.loss_decode.loss_e(attention, target, valid)
    assert float(value) == pytest.approx(expected)


def test_background_only_batch_has_no_nan():
    model = build_tiny()
    samples = [make_sample(torch.zeros(48, 48, dtype=torch.long)) for _ in range(2)]
    losses = model.loss(torch.randn(2, 3, 48, 48), samples)
    assert set(losses) == {'loss_cl'}
    total = sum(losses.values())
    total.backward()
    assert torch.isfinite(total)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize('erase', ['image', 'feature'])
@pytest.mark.parametrize('mode', ['per_class', 'union'])
@pytest.mark.parametrize('score', ['sigmoid', 'logit', 'softmax'])
def test_options_run_and_are_finite(batch, mode, score, erase):
    inputs, samples = batch
    model = build_tiny(am_mask_mode=mode, am_erase=erase, loss=dict(am_score=score))
    losses = model.loss(inputs, samples)
    assert all(torch.isfinite(v) for v in losses.values())
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_union_mode_scores_one_masked_image_per_image(batch, monkeypatch):
    inputs, samples = batch
    model = build_tiny(am_mask_mode='union')
    seen = []
    original = model.score_masked
    monkeypatch.setattr(model, 'score_masked',
                        lambda x, **kw: seen.append(len(x)) or original(x, **kw))
    model.loss(inputs, samples)
    assert seen == [2]  # two images have foreground; three (image, class) pairs


def test_cam_baseline_logging_pass_changes_no_gradient_or_bn_statistic(batch):
    inputs, samples = batch
    plain = build_tiny(am_freeze_bn=False, loss=dict(loss_weight_am=0.0))
    logging = build_tiny(am_freeze_bn=False, loss=dict(loss_weight_am=0.0),
                         am_log_when_off=True)
    for model in (plain, logging):
        sum(v for k, v in model.loss(inputs, samples).items() if k.startswith('loss')).backward()
    bn, logging_bn = plain.backbone.layer4[0].bn1, logging.backbone.layer4[0].bn1
    torch.testing.assert_close(bn.running_mean, logging_bn.running_mean, rtol=0, atol=0)
    for (name, p), q in zip(plain.named_parameters(), logging.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=0, atol=0, msg=name)


def test_invalid_options_are_rejected():
    with pytest.raises(ValueError, match='am_fill'):
        build_tiny(am_fill='zeros')
    with pytest.raises(ValueError, match='am_score'):
        build_tiny(loss=dict(am_score='prob'))
    with pytest.raises(ValueError, match='am_erase'):
        build_tiny(am_erase='pixels')
    with pytest.raises(ValueError, match='attention_path'):
        build_tiny(num_convs=1, head=dict(attention_path='cam'))
    with pytest.raises(ValueError, match='auxiliary'):
        build_tiny(auxiliary_head=dict(type='FCNHead', in_channels=32, channels=8, in_index=0,
                                       num_classes=4))


def test_am_score_types_follow_their_definition():
    scores = torch.tensor([[2.0, -1.0, 0.5], [0.0, 1.0, -2.0]])
    cls = torch.tensor([0, 2])
    loss = build_tiny().decode_head.loss_decode
    expected = {
        'sigmoid': (torch.sigmoid(torch.tensor(2.0)) + torch.sigmoid(torch.tensor(-2.0))) / 2,
        'logit': torch.tensor(0.0),
        'softmax': (scores.softmax(1)[0, 0] + scores.softmax(1)[1, 2]) / 2,
    }
    for score, value in expected.items():
        loss.am_score = score
        torch.testing.assert_close(loss.loss_am(scores, cls), value)


def test_noise_fill_replaces_the_attended_region_with_noise():
    model = build_tiny(am_fill='noise')
    images = torch.full((1, 3, 8, 8), 5.0)
    masks = torch.zeros(1, 8, 8)
    masks[:, :4] = 1
    out = model.masked_images(images, masks)
    assert torch.equal(out[..., 4:, :], images[..., 4:, :])
    assert out[..., :4, :].std() > 0.5 and out[..., :4, :].mean().abs() < 1


def test_warmup_and_ramp_as_fractions_of_the_schedule():
    loss = build_tiny(loss=dict(am_warmup_ratio=0.5, am_ramp_ratio=0.2)).decode_head.loss_decode
    # 20 iterations: 10 of warm-up, then a ramp of 4.
    assert [loss.am_weight(i, 20) for i in (0, 9, 10, 11, 13, 19)] == [0, 0, 0.25, 0.5, 1, 1]
    # The same ratios follow a longer schedule.
    assert loss.am_weight(99, 200) == 0 and loss.am_weight(100, 200) == pytest.approx(1 / 40)


def test_a_warmup_that_leaves_no_attention_mining_is_an_error():
    loss = build_tiny(loss=dict(am_warmup_iters=750)).decode_head.loss_decode
    with pytest.raises(ValueError, match='leaves no attention mining'):
        loss.am_weight(0, 300)
    with pytest.raises(ValueError, match='not both'):
        build_tiny(loss=dict(am_warmup_iters=5, am_warmup_ratio=0.5))


def test_scheduled_alpha_without_the_iteration_is_an_error(batch):
    """No silent CAM training: a warm-up needs GAINScheduleHook to hand over the iteration."""
    inputs, samples = batch
    model = build_tiny(loss=dict(am_warmup_ratio=0.5))
    with pytest.raises(RuntimeError, match='GAINScheduleHook'):
        model.loss(inputs, samples)
    model.set_train_progress(5, 10)
    assert 'loss_am' in model.loss(inputs, clone_samples(samples))
    model.set_train_progress(4, 10)
    assert 'loss_am' not in model.loss(inputs, clone_samples(samples))


def test_head_only_attention_mining_leaves_the_backbone_to_l_cl(batch):
    inputs, samples = batch
    model = build_tiny(am_grad_to='head')
    losses = model.loss(inputs, samples)
    assert _grad_norm(losses['loss_am'], list(model.backbone.parameters())) == 0
    assert _grad_norm(losses['loss_am'], list(model.decode_head.parameters())) > 0
    # The maps are the same as with 'all': only where L_am's gradient stops differs.
    full = build_tiny(am_grad_to='all').loss(inputs, clone_samples(samples))
    torch.testing.assert_close(losses['loss_am'], full['loss_am'])


def test_l_am_trains_only_the_parameters_it_names(batch):
    """``am_grad_to`` as name prefixes (here the head and the backbone's last stage): L_am
    keeps its value, its gradient on the named parameters equals the one of 'all' (to 1e-5),
    and no other parameter gets any."""
    inputs, samples = batch
    prefixes = ('decode_head', 'backbone.layer4')
    model, full_model = build_tiny(am_grad_to=list(prefixes)), build_tiny()
    losses = model.loss(inputs, samples)
    full = full_model.loss(inputs, clone_samples(samples))
    torch.testing.assert_close(losses['loss_am'], full['loss_am'])
    got = torch.autograd.grad(losses['loss_am'], list(model.parameters()), allow_unused=True)
    want = torch.autograd.grad(full['loss_am'], list(full_model.parameters()),
                               allow_unused=True)
    reached = {'named': 0, 'others under all': 0}
    for (name, p), g, w in zip(model.named_parameters(), got, want):
        w = torch.zeros_like(p) if w is None else w
        g = torch.zeros_like(p) if g is None else g
        if name.startswith(prefixes):
            torch.testing.assert_close(g, w, atol=1e-5, rtol=1e-5)
            reached['named'] += bool(w.abs().sum() > 0)
        else:
            assert float(g.abs().sum()) == 0, name
            reached['others under all'] += bool(w.abs().sum() > 0)
    assert all(reached.values()), reached  # the check compares real gradients on both sides


def test_am_grad_to_prefixes_must_name_parameters():
    with pytest.raises(ValueError, match='backbone.layer9'):
        build_tiny(am_grad_to=['decode_head', 'backbone.layer9'])
    with pytest.raises(ValueError, match='am_grad_to'):
        build_tiny(am_grad_to='backbone')


def losses_with_prior(batch, **loss) -> tuple:
    """The losses of the tiny model plain and with the GAINLoss options ``loss`` on the same
    batch, and each pair's soft mask T(A) of the plain model's attention, (P, H, W)."""
    inputs, samples = batch
    plain = build_tiny().loss(inputs, samples)
    changed = build_tiny(loss=loss).loss(inputs, clone_samples(samples))
    model = build_tiny()
    maps, _, _ = input_attention(model, inputs, samples)
    return plain, changed, model.soft_mask(maps)


def test_area_prior_adds_lambda_times_mean_soft_mask(batch):
    plain, prior, soft = losses_with_prior(batch, am_area_weight=0.5)
    torch.testing.assert_close(prior['loss_am'], plain['loss_am'] + 0.5 * soft.mean())


def test_log_area_prior_adds_lambda_times_mean_log_area_of_each_pair(batch):
    """``am_area_prior='log'``: λ · mean over pairs of log(mean T(A)), each pair's area its
    own (not the batch's), so its gradient λ / (P a_p) is smaller for larger maps."""
    plain, prior, soft = losses_with_prior(batch, am_area_weight=0.5, am_area_prior='log')
    areas = soft.flatten(1).mean(1)
    assert len(areas) > 1 and areas.std() > 0  # tells the pairs' mean of logs from log of mean
    torch.testing.assert_close(prior['loss_am'], plain['loss_am'] + 0.5 * areas.log().mean())


def test_area_only_control_drops_the_masked_score_but_still_logs_it(batch):
    """``am_score='none'``: L_am is λ · mean T(A) alone (the score of the masked images adds
    nothing), while ``am_value`` still logs that score as the sigmoid row does."""
    plain, only, soft = losses_with_prior(batch, am_area_weight=0.5, am_score='none')
    torch.testing.assert_close(only['loss_am'], 0.5 * soft.mean())
    torch.testing.assert_close(only['am_value'], plain['am_value'])
    with pytest.raises(ValueError, match='am_area_weight > 0'):
        GAINLoss(am_score='none')


def test_log_area_prior_pushes_each_map_in_proportion_to_the_inverse_of_its_area():
    loss = GAINLoss(am_area_weight=2.0, am_area_prior='log')
    area = torch.tensor([0.2, 0.5], requires_grad=True)
    scores = torch.zeros(2, 3)
    loss.loss_am(scores, torch.tensor([0, 1]), area).backward()
    torch.testing.assert_close(area.grad, 2.0 / (2 * area.detach()))
    # A map with no area (all of it below am_bg_zone) leaves the loss finite.
    assert torch.isfinite(loss.loss_am(scores, torch.tensor([0, 1]), torch.tensor([0.0, 0.5])))
    with pytest.raises(ValueError, match="am_area_prior must be 'linear', 'log' or 'gated'"):
        GAINLoss(am_area_prior='sqrt')


def test_gated_area_prior_weighs_each_pair_by_how_far_erasing_removed_its_class(batch):
    """``am_area_prior='gated'``: λ · mean over pairs of w_p a_p, w_p = (1 − s_p) normalised
    to mean 1, s_p the sigmoid score of the pair's class on its masked image."""
    plain, gated, _ = losses_with_prior(batch, am_area_weight=0.5, am_area_prior='gated')
    inputs, samples = batch
    model = build_tiny()
    maps, img_idx, cls_idx = input_attention(model, inputs, samples)
    soft = model.soft_mask(maps)
    with torch.no_grad():
        scores = model.score_masked(model.masked_images(inputs[img_idx], soft))
    missed = 1 - scores.gather(1, cls_idx[:, None]).squeeze(1).sigmoid()
    weights = missed / missed.mean()
    assert len(weights) > 1 and weights.std() > 1e-3  # tells the gate from the linear prior
    areas = soft.flatten(1).mean(1)
    torch.testing.assert_close(gated['loss_am'],
                               plain['loss_am'] + 0.5 * (weights * areas).mean())


def test_gated_area_prior_pushes_the_maps_erasing_succeeded_on_and_trains_no_score():
    """∂/∂a_p = λ w_p / P: a pair whose masked image still scores its class (s_p → 1) is not
    pushed to shrink; the gate is detached, so the scores get only the masked-score term's
    gradient."""
    logits = torch.tensor([[-2.0, 0.0], [0.0, 0.0], [0.0, 30.0]])
    cls_idx = torch.tensor([0, 0, 1])
    grads = []
    for weight in (0.0, 2.0):
        loss = GAINLoss(am_area_weight=weight, am_area_prior='gated')
        scores = logits.clone().requires_grad_()
        area = torch.tensor([0.2, 0.4, 0.6], requires_grad=True)
        loss.loss_am(scores, cls_idx, area).backward()
        grads.append(scores.grad)
    missed = 1 - torch.tensor([-2.0, 0.0, 30.0]).sigmoid()
    torch.testing.assert_close(area.grad, 2.0 * missed / missed.mean() / 3)
    assert area.grad[2] < 1e-6 < area.grad[1] < area.grad[0]
    torch.testing.assert_close(grads[1], grads[0])


def test_fill_kernel_as_a_fraction_follows_the_input_size():
    model = build_tiny(am_fill='blur', am_fill_kernel=0.125)
    assert [model.fill_kernel((s, s)) for s in (80, 256, 320)] == [11, 33, 41]
    assert model.fill_kernel((256, 512)) == 33
    with pytest.raises(ValueError, match='fraction'):
        build_tiny(am_fill='blur', am_fill_kernel=1.5)


def test_the_head_alone_trains_cam_and_refuses_gain(batch):
    """Inside mmseg's plain EncoderDecoder the head gives L_cl (a CAM classifier), equal to
    GAINEncoderDecoder's; with α > 0 it names the segmentor GAIN needs."""
    from mmseg.registry import MODELS

    from conftest import tiny_segmentor_cfg
    inputs, samples = batch
    cfg = tiny_segmentor_cfg(loss=dict(loss_weight_am=0.0))
    torch.manual_seed(0)
    plain = MODELS.build(dict(cfg, type='EncoderDecoder')).train()
    gain = build_tiny(loss=dict(loss_weight_am=0.0))
    gain.load_state_dict(plain.state_dict())
    ours = plain.loss(inputs, clone_samples(samples))
    assert set(ours) == {'decode.loss_cl'}
    torch.testing.assert_close(ours['decode.loss_cl'],
                               gain.loss(inputs, clone_samples(samples))['loss_cl'])
    ours['decode.loss_cl'].backward()
    assert plain.backbone.stem[0].weight.grad.abs().sum() > 0
    with pytest.raises(TypeError, match='GAINEncoderDecoder'):
        MODELS.build(dict(tiny_segmentor_cfg(), type='EncoderDecoder')).loss(inputs, samples)


@pytest.mark.parametrize('num_convs', [0, 1], ids=['cam', 'gradcam'])
def test_feature_erasing_scores_f_times_one_minus_t_and_trains_the_backbone(batch, num_convs):
    """am_erase='feature' (ACoL's erasing): L_am is the loss of the head's scores of
    f ⊙ (1 − T(A)), T(A) at the features' resolution, with no second backbone pass; its
    gradient reaches the backbone through the attention map."""
    from gain_mmseg.models.attention import label_pairs, normalize_attention

    inputs, samples = batch
    model = build_tiny(num_convs=num_convs, am_erase='feature')
    calls = []
    model.backbone.register_forward_hook(lambda *a: calls.append(1))
    losses = model.loss(inputs, samples)
    assert len(calls) == 1  # S_cl only: the masked stream does not re-run the backbone
    assert _grad_norm(losses['loss_am'], list(model.backbone.parameters())) > 0

    head = model.decode_head
    with torch.no_grad():
        scores, feats = head.forward_cls(model.extract_feat(inputs))
    labels = model.image_labels(samples)
    img_idx, cls_idx = label_pairs(labels)
    with torch.enable_grad():
        f = feats.clone().requires_grad_(num_convs > 0)
        s = head.classify(f)
        maps = normalize_attention(head.attention(f, s, img_idx, cls_idx, create_graph=False))
    soft = torch.sigmoid(model.am_omega * (maps.detach() - model.am_sigma))
    assert soft.shape[-2:] == feats.shape[-2:]
    with torch.no_grad():
        erased = head.classify(feats[img_idx] * (1 - soft[:, None]))
        expected = head.loss_decode.loss_am(erased, cls_idx)
    torch.testing.assert_close(losses['am_value'], expected, rtol=1e-5, atol=1e-6)
    # Not the image-space stream's value.
    image = build_tiny(num_convs=num_convs).loss(inputs, clone_samples(samples))
    assert abs(float(image['am_value']) - float(expected)) > 1e-4
