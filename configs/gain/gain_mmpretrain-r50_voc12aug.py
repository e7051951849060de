# GAIN on any backbone: mmpretrain's ResNet-50 (ImageNet weights from mmpretrain), made
# output-stride 8 with dilation. Only the backbone differs from gain_r50-d8_voc12aug.py.
_base_ = ['./gain_r50-d8_voc12aug.py']
model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='mmpretrain.ResNet',
        depth=50,
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        out_indices=(3, ),
        init_cfg=dict(
            type='Pretrained',
            prefix='backbone.',
            checkpoint='https://download.openmmlab.com/mmclassification/v0/resnet/'
                       'resnet50_8xb32_in1k_20210831-ea4938fc.pth')),
    decode_head=dict(in_index=0))
