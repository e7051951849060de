"""The plug-in in a user's own config: registration, a stock mmseg config plus the
documented lines, the VOC configs, GAIN_ext's pixel-supervised subset."""
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmseg.registry import DATASETS, HOOKS, MODELS, TRANSFORMS

from conftest import REPO, blocks_mask, make_sample, tiny_demo_config


def readme_config_blocks() -> list:
    """The python blocks of README's "Switch GAIN on in your own config" section: the lines
    users add to an existing mmseg config, read from README itself."""
    with open(osp.join(REPO, 'README.md'), encoding='utf-8') as f:
        text = f.read()
    section = text.split('## Switch GAIN on in your own config')[1].split('\n## ')[0]
    return re.findall(r'```python\n(.*?)```', section, flags=re.S)


# The lines for mmseg's ResNet-50 configs, and for a timm backbone through mmpretrain.
README_OVERRIDE, README_TIMM = readme_config_blocks()


def test_components_are_registered():
    import gain_mmseg  # noqa: F401

    for registry, name in [(MODELS, 'GAINEncoderDecoder'), (MODELS, 'AttentionMiningHead'),
                           (MODELS, 'GAINLoss'), (HOOKS, 'CAMPseudoLabelHook'),
                           (HOOKS, 'FinalValMetricsHook'),
                           (HOOKS, 'AttentionVisualizationHook'),
                           (DATASETS, 'DemoDigitsDataset'),
                           (DATASETS, 'PixelSupervisionDataset'),
                           (TRANSFORMS, 'AddImageLevelLabels')]:
        assert registry.get(name) is not None, name


def test_stock_mmseg_config_with_readme_lines_trains(demo_root, tmp_path):
    """mmseg's own DeepLabV3 VOC config + the README lines, on the demo data (VOC layout)."""
    text = ("_base_ = ['mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py']\n"
            + README_OVERRIDE + f"""
# shrunk for a CPU test: small backbone, 64 px, 2 iterations, the demo images
model.update(pretrained=None, data_preprocessor=dict(size=(64, 64)),
             backbone=dict(depth=18, stem_channels=8, base_channels=8,
                           norm_cfg=dict(type='BN', requires_grad=True)))
model['decode_head'].update(in_channels=64, channels=64)
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='PascalVOCDataset', data_root={demo_root!r},
                 data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
                 ann_file='ImageSets/Segmentation/train.txt',
                 pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                           dict(type='PackSegInputs')]))
train_cfg = dict(max_iters=2, val_interval=100)
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
default_hooks = dict(checkpoint=dict(interval=2), logger=dict(interval=1))
""")
    path = tmp_path / 'user_config.py'
    path.write_text(text)
    cfg = Config.fromfile(str(path))
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2
    assert type(runner.model).__name__ == 'GAINEncoderDecoder'
    assert runner.message_hub.get_scalar('train/loss_am').current() >= 0


def test_readme_timm_backbone_lines_train_from_imagenet_weights(lite0_checkpoint):
    """The README's lines for a timm backbone, on mmseg's stock config: ImageNet weights
    loaded, and one GAIN step whose L_am reaches the backbone."""
    text = ("_base_ = ['mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py']\n"
            + README_TIMM.replace('pretrain/tf_efficientnet_lite0_in1k.pth', lite0_checkpoint))
    cfg = Config.fromstring(text, '.py')
    model = MODELS.build(cfg.model)
    model.init_weights()
    ckpt = torch.load(lite0_checkpoint, map_location='cpu', weights_only=True)['state_dict']
    key = 'timm_model.blocks.6.0.conv_pwl.weight'
    assert torch.equal(model.backbone.state_dict()[key], ckpt[key])
    torch.manual_seed(0)
    inputs = torch.randn(2, 3, 64, 64)
    samples = [make_sample(blocks_mask(64, [15])), make_sample(blocks_mask(64, [3, 7]))]
    losses = model.train().loss(inputs, samples)
    grads = torch.autograd.grad(losses['loss_am'], model.backbone.parameters(),
                                allow_unused=True)
    assert sum(float(g.abs().sum()) for g in grads if g is not None) > 0


@pytest.mark.parametrize('name', [
    'gain_r50-d8_voc12aug.py', 'gain-ext_r50-d8_voc12aug-1464px.py',
    'gain-ext_r50-d8_voc12aug-200px.py', 'gain_mmpretrain-r50_voc12aug.py',
    'deeplabv3_gain_voc.py', 'deeplabv3-r101_gain_voc.py'])
def test_voc_configs_build_and_train_one_step(name):
    cfg = Config.fromfile(osp.join(REPO, 'configs/gain', name))
    cfg.model.pop('pretrained', None)
    cfg.model.backbone.pop('init_cfg', None)
    cfg.model.backbone.norm_cfg = dict(type='BN', requires_grad=True) \
        if 'norm_cfg' in cfg.model.backbone else None
    if cfg.model.backbone.norm_cfg is None:
        cfg.model.backbone.pop('norm_cfg')
    model = MODELS.build(cfg.model)
    assert model.decode_head.num_classes == 21
    # One real training step at 64 px: the loss of each stream reaches the backbone.
    torch.manual_seed(0)
    model.train()
    if hasattr(model, 'set_train_progress'):  # after the warm-up: L_am is on
        model.set_train_progress(cfg.train_cfg.max_iters - 1, cfg.train_cfg.max_iters)
    samples = [make_sample(blocks_mask(64, [1, 15]), 'gain-ext' in name),
               make_sample(blocks_mask(64, [7]), False)]
    losses = model.loss(torch.randn(2, 3, 64, 64), samples)
    expected = {'loss_cl', 'loss_am'} | ({'loss_e'} if 'gain-ext' in name else set()) \
        if name.startswith('gain') else {'decode.loss_ce'}
    assert expected <= set(losses)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    assert torch.isfinite(total)
    assert sum(float(p.grad.abs().sum()) for p in model.backbone.parameters()
               if p.grad is not None) > 0


@pytest.mark.parametrize('name', [
    'deeplabv3_gain_voc.py', 'demo/deeplabv3_r18-tiny_demo.py',
    'deeplabv3_effnet-lite0_1xb8-500it_voc-layout-256x256.py'])
def test_stage2_configs_train_on_pseudo_mask_root(name, tmp_path):
    """No stage-1 folder is hard-wired: unset, the tools stop with a message naming
    pseudo_mask_root; set, every training dataset (each part of a ConcatDataset) reads it,
    and validation keeps the ground truth."""
    from gain_mmseg.datasets import apply_pseudo_mask_root

    cfg = Config.fromfile(osp.join(REPO, 'configs/gain', name))
    with pytest.raises(ValueError, match='pseudo_mask_root is not set'):
        apply_pseudo_mask_root(cfg)
    cfg.pseudo_mask_root = str(tmp_path / 'missing')
    with pytest.raises(FileNotFoundError, match='missing'):
        apply_pseudo_mask_root(cfg)
    val_masks = cfg.val_dataloader.dataset.data_prefix.seg_map_path
    cfg.pseudo_mask_root = str(tmp_path)
    apply_pseudo_mask_root(cfg)
    ds = cfg.train_dataloader.dataset
    parts = ds.datasets if 'datasets' in ds else [ds]
    assert parts and all(part.data_prefix.seg_map_path == str(tmp_path) for part in parts)
    assert cfg.val_dataloader.dataset.data_prefix.seg_map_path == val_masks


def test_voc_stage2_covers_train_aug():
    cfg = Config.fromfile(osp.join(REPO, 'configs/gain/deeplabv3_gain_voc.py'))
    files = sorted(d.ann_file for d in cfg.train_dataloader.dataset.datasets)
    assert files == ['ImageSets/Segmentation/aug.txt', 'ImageSets/Segmentation/train.txt']


def test_gain_ext_voc_pixel_list_is_voc_train():
    cfg = Config.fromfile(osp.join(REPO, 'configs/gain/gain-ext_r50-d8_voc12aug-200px.py'))
    ds = cfg.train_dataloader.dataset
    assert ds.type == 'PixelSupervisionDataset' and ds.num_pixel == 200
    assert ds.pixel_list == osp.join(cfg.data_root, 'ImageSets/Segmentation/train.txt')


def test_gain_ext_subset_by_count_and_list(demo_root, tmp_path):
    inner = dict(type='DemoDigitsDataset', data_root=demo_root,
                 data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
                 ann_file='ImageSets/Segmentation/train.txt',
                 pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                           dict(type='PackSegInputs')])
    by_count = DATASETS.build(dict(type='PixelSupervisionDataset', dataset=inner, num_pixel=5,
                                   seed=3))
    flags = [by_count[i]['data_samples'].metainfo['pixel_supervised']
             for i in range(len(by_count))]
    assert sum(flags) == 5
    again = DATASETS.build(dict(type='PixelSupervisionDataset', dataset=inner, num_pixel=5,
                                seed=3))
    assert again.pixel_stems == by_count.pixel_stems
    listed = tmp_path / 'pixel.txt'
    listed.write_text('train_00002\ntrain_00007\n')
    by_list = DATASETS.build(dict(type='PixelSupervisionDataset', dataset=inner,
                                  pixel_list=str(listed)))
    assert by_list.pixel_stems == {'train_00002', 'train_00007'}
    assert by_list.get_data_info(2)['pixel_supervised']
    listed.write_text('train_00002\nnot_an_image\n')
    with pytest.raises(ValueError, match='not_an_image'):
        DATASETS.build(dict(type='PixelSupervisionDataset', dataset=inner,
                            pixel_list=str(listed))).full_init()


def test_image_labels_are_read_before_the_crop():
    t = TRANSFORMS.build(dict(type='AddImageLevelLabels', num_classes=4))
    mask = torch.zeros(8, 8, dtype=torch.uint8).numpy()
    mask[0, 0], mask[7, 7], mask[3, 3] = 3, 1, 255
    assert t(dict(gt_seg_map=mask))['img_labels'] == [0, 1, 3]


def _train_history(demo_root, work, alpha):
    extra = f"""
model = dict(am_log_when_off=True,
             decode_head=dict(loss_decode=dict(loss_weight_am={alpha}, am_warmup_ratio=None,
                                               am_ramp_ratio=None)))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
custom_hooks = []
val_dataloader = None
val_cfg = None
val_evaluator = None
"""
    cfg = Config.fromfile(tiny_demo_config(str(work / 'cfg.py'), demo_root, max_iters=200,
                                           extra=extra))
    cfg.work_dir = str(work / 'work')
    cfg.default_hooks.logger.interval = 50
    runner = Runner.from_cfg(cfg)
    runner.train()
    return {k: runner.message_hub.get_scalar(f'train/{k}').data[0]
            for k in ('loss_cl', 'am_value')}


def test_training_on_demo_lowers_losses(demo_root, tmp_path):
    """200 iterations on the demo images lower L_cl; L_am ends lower with GAIN (α = 1)
    than in the same run with α = 0 (where it is only measured)."""
    (tmp_path / 'gain').mkdir()
    (tmp_path / 'cam').mkdir()
    gain = _train_history(demo_root, tmp_path / 'gain', 1.0)
    cam = _train_history(demo_root, tmp_path / 'cam', 0.0)
    assert gain['loss_cl'][-40:].mean() < gain['loss_cl'][:40].mean()
    assert gain['am_value'][-40:].mean() < cam['am_value'][-40:].mean()
