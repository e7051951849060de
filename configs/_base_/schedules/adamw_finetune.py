# Fine-tuning from ImageNet weights: the head is new, the backbone pretrained, so AdamW with
# 1e-2 for the head and 1e-4 for the backbone. The iteration count and what depends on it
# (train_cfg, param_scheduler, checkpoint interval) are set by the schedule or config using it.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-2, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.01)}))
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(type='LoggerHook', interval=25, log_metric_by_epoch=False))
randomness = dict(seed=0)
