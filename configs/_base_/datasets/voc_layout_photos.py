# Photographs in the Pascal VOC layout (JPEGImages/, SegmentationClass/, ImageSets/Segmentation/
# {train,val}.txt; 21 classes, 255 = ignore), trained at `crop_size`. `data_root` is the
# one field to change for another folder of this layout: e.g. the COCO-derived dev set with
#   --cfg-options data_root=../shared/data/coco_voc_dev
# is not enough on its own (mmengine substitutes variables when the file is read); the tools'
# `--data-root` (tools/train.py, test.py, gen_pseudo_labels.py, run_pipeline.py, ablate.py) sets
# it in every dataset of the config.
dataset_type = 'PascalVOCDataset'
data_root = 'data/VOCdevkit/VOC2012'
num_classes = 21
# Long side of the training input (and the reference size of the pseudo masks' scales).
train_size = 256
crop_size = (train_size, train_size)
# PackSegInputs' defaults plus the image-level labels read from the whole mask before any crop.
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape',
             'scale_factor', 'flip', 'flip_direction', 'reduce_zero_label', 'img_labels')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='AddImageLevelLabels', num_classes=num_classes),
    dict(type='RandomResize', scale=crop_size, ratio_range=(0.8, 1.2), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
# The long side at the training scale; the ground truth stays at its own size (mmseg's metric
# compares at the original resolution).
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=crop_size, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/train.txt',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
# Multi-scale + flip test of a segmentation model (tools/test.py --tta): 0.75, 1 and 1.25 times
# the training size.
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=(int(train_size * r), ) * 2, keep_ratio=True)
         for r in (0.75, 1.0, 1.25)],
        [dict(type='RandomFlip', prob=0.0, direction='horizontal'),
         dict(type='RandomFlip', prob=1.0, direction='horizontal')],
        [dict(type='LoadAnnotations')],
        [dict(type='PackSegInputs')]])]
