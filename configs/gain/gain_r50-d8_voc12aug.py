# GAIN (self-guidance, L_cl + α L_am) on Pascal VOC12 train_aug (10,582 images, image-level
# labels read from SegmentationClass(Aug) before any crop), ResNetV1c-50 (ImageNet), output
# stride 8. Validation reports the attention-map mIoU on VOC12 val; when training ends,
# CAMPseudoLabelHook writes the pseudo masks stage 2 trains on (work_dir/pseudo_masks).
_base_ = ['mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py']
custom_imports = dict(imports=['gain_mmseg'], allow_failed_imports=False)

num_classes = 21
crop_size = (448, 448)
# Background score of the attention segmentation (val) and of the pseudo masks; the
# attention-mining options below are those measured best on photographs from ImageNet weights
# (docs/ablations_real_linear.md, docs/ablations_real_shipped.md): the paper's mean-colour
# fill plus a gated area prior, the dense CRF on the pseudo masks, and
# the photographs' best threshold for them.
bg_threshold = 0.4
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape',
             'scale_factor', 'flip', 'flip_direction', 'reduce_zero_label', 'img_labels')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='AddImageLevelLabels', num_classes=num_classes),
    dict(type='RandomResize', scale=(512, 512), ratio_range=(0.7, 1.3), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
voc_train = dict(
    type={{_base_.dataset_type}},
    data_root={{_base_.data_root}},
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
    ann_file='ImageSets/Segmentation/train.txt',
    pipeline=train_pipeline)
voc_aug = dict(
    type={{_base_.dataset_type}},
    data_root={{_base_.data_root}},
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
    ann_file='ImageSets/Segmentation/aug.txt',
    pipeline=train_pipeline)
train_dataloader = dict(
    batch_size=8,
    dataset=dict(type='ConcatDataset', datasets=[voc_train, voc_aug]))

model = dict(
    type='GAINEncoderDecoder',
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(
        _delete_=True,
        type='AttentionMiningHead',
        in_channels=2048,
        in_index=3,
        channels=2048,
        num_classes=num_classes,
        bg_threshold=bg_threshold,
        # α, σ, ω (below), the area prior and GAIN_ext's ω_e: the photograph configs' settings
        # (docs/ablations_real_shipped.md, docs/ablations_real_linear.md), not measured on VOC.
        loss_decode=dict(
            type='GAINLoss', loss_weight_am=0.3, loss_weight_e=0.1,
            am_warmup_ratio=0.5, am_ramp_ratio=0.1, am_area_prior='gated', am_area_weight=5.0)),
    auxiliary_head=None,
    am_sigma=0.25,
    am_omega=5.0,
    am_scoring_grad=False,
    am_freeze_bn=True,
    am_fill='mean',
    # For am_fill='blur': an eighth of the input's side.
    am_fill_kernel=0.125)

max_iters = 10000
# The classifier is new, the backbone pretrained: the head learns 10x faster.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_interval=2000)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=2000, max_keep_ckpts=2))
# Scales of the long side crop_size[0] (the training scale), with flips. The photograph
# configs label up to 3 times their 256 px at output stride 16; at output stride 8 and 448 px
# the attention's cells are already finer, and 3 x 448 px is costly on ResNet-50. The dense
# CRF, as on photographs.
pseudo_mask = dict(scales=(0.5, 1.0, 1.5, 2.0), flip=True, bg_threshold=bg_threshold,
                   crf=True, ref_size=crop_size[0])
custom_hooks = [dict(type='GAINScheduleHook'), dict(type='CAMPseudoLabelHook')]
