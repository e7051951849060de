# Stage 2: mmseg's DeepLabV3 (ResNetV1c-50-D8, ASPP) trained on GAIN's pseudo masks instead of
# SegmentationClassAug, validated on VOC12 val ground truth. Run after stage 1:
#   python tools/train.py configs/gain/deeplabv3_gain_voc.py \
#       --cfg-options pseudo_mask_root=work_dirs/gain_r50-d8_voc12aug/pseudo_masks
# `pseudo_mask_root` is where stage 1 left its masks (CAMPseudoLabelHook or
# tools/gen_pseudo_labels.py); tools/run_pipeline.py points it at its own stage 1.
_base_ = ['mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py']
custom_imports = dict(imports=['gain_mmseg'], allow_failed_imports=False)

# The folder of stage 1's masks, applied to every training dataset by the tools (None: they
# stop with a message saying how to set it). With mmseg's own tools/train.py, set
# `data_prefix.seg_map_path` of both training datasets instead.
pseudo_mask_root = None
# train_aug = VOC12 train (1,464) + SBD's aug.txt (9,118), both labelled by stage 1.
voc_pseudo = dict(
    type={{_base_.dataset_type}},
    data_root={{_base_.data_root}},
    data_prefix=dict(img_path='JPEGImages', seg_map_path=None),
    pipeline={{_base_.train_pipeline}})
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            dict(voc_pseudo, ann_file='ImageSets/Segmentation/train.txt'),
            dict(voc_pseudo, ann_file='ImageSets/Segmentation/aug.txt'),
        ]))
