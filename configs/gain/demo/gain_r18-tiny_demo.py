# GAIN (self-guidance, L_cl + α L_am) on the built-in demo data, a narrow ResNetV1c-18 trained
# from scratch (no download). The attention-mining options are the measured best; see
# docs/ablations.md.
_base_ = ['mmseg::_base_/default_runtime.py', '../../_base_/datasets/demo_digits.py']
custom_imports = dict(imports=['gain_mmseg'], allow_failed_imports=False)

norm_cfg = dict(type='BN', requires_grad=True)
# Channels of the backbone's four levels (base 16); the head reads the last.
backbone_channels = (16, 32, 64, 128)
# Background score of the attention segmentation (val) and of the pseudo masks.
bg_threshold = 0.6
model = dict(
    type='GAINEncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size={{_base_.crop_size}}),
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        stem_channels=16,
        base_channels=16,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        # From scratch, zero-initialised residual branches learn much slower (measured).
        zero_init_residual=False,
        contract_dilation=True),
    decode_head=dict(
        type='AttentionMiningHead',
        in_channels=128,
        in_index=3,
        channels=128,
        num_classes={{_base_.num_classes}},
        bg_threshold=bg_threshold,
        norm_cfg=norm_cfg,
        loss_decode=dict(
            type='GAINLoss', loss_weight_am=1.0, loss_weight_e=1.0,
            am_warmup_ratio=0.5, am_ramp_ratio=250 / 1500)),
    am_scoring_grad=False,
    am_freeze_bn=True,
    # Blurred fill measured best on the demo data (docs/ablations.md).
    am_fill='blur',
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

max_iters = 1500
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='AdamW', lr=5e-4, weight_decay=1e-4))
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters,
                    max_keep_ckpts=1))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
# Pseudo masks (the hook below, tools/gen_pseudo_labels.py): no flip, a mirrored digit is
# another digit.
pseudo_mask = dict(scales=(1.0, 1.5), flip=False, bg_threshold=bg_threshold)
# α's warm-up needs the iteration; stage 2's input is left in work_dir/pseudo_masks.
custom_hooks = [dict(type='GAINScheduleHook'), dict(type='CAMPseudoLabelHook')]
