# Stage 2 on photographs: mmseg's DeepLabV3 (ASPP head) on the same ImageNet EfficientNet-Lite0
# as stage 1, trained on stage 1's pseudo masks and validated on the ground truth of val.
# tools/run_pipeline.py points the train masks at its own stage 1; alone:
#   python tools/train.py CONFIG --cfg-options pseudo_mask_root=MASKS
_base_ = ['mmseg::_base_/default_runtime.py', '../_base_/datasets/voc_layout_photos.py',
          '../_base_/models/efficientnet-lite0.py', '../_base_/schedules/adamw_finetune.py']
custom_imports = dict(imports=['gain_mmseg'], allow_failed_imports=False)

norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(size={{_base_.crop_size}}),
    decode_head=dict(
        type='ASPPHead',
        in_channels={{_base_.last_channels}},
        in_index=-1,
        channels=128,
        dilations=(1, 6, 12, 18),
        dropout_ratio=0.1,
        num_classes={{_base_.num_classes}},
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
# Plain RandomResize + RandomCrop: no image-level labels needed here.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale={{_base_.crop_size}}, ratio_range=(0.8, 1.2),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
# The folder of stage 1's masks, applied to the training set by the tools (None: they stop
# with a message saying how to set it; the ground truth's folder gives the upper bound).
pseudo_mask_root = None
train_dataloader = dict(dataset=dict(data_prefix=dict(seg_map_path=None), pipeline=train_pipeline))

max_iters = 500
# A new ASPP head on an ImageNet backbone: the base's 1e-2 for the head, 1e-3 for the
# backbone (10 times the stage-1 backbone's: here the whole network learns a new task; the
# comparison with 1e-3 / 1e-4 is in README, stage 2 on photographs).
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-6, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters,
                    max_keep_ckpts=1))
