# Stage 1 on photographs from ImageNet weights: a short fine-tuning schedule (minutes on CPU for
# a few hundred images).
_base_ = ['./adamw_finetune.py']
max_iters = 200
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-6, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters,
                    max_keep_ckpts=1))
