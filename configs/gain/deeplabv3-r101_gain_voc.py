# Stage 2 with ResNetV1c-101-D8 (mmseg's deeplabv3_r101-d8 VOC recipe), on GAIN's pseudo masks.
_base_ = ['./deeplabv3_gain_voc.py']
model = dict(pretrained='open-mmlab://resnet101_v1c', backbone=dict(depth=101))
