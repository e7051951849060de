# Plain CAM baseline on photographs: the GAIN config with α = 0 (no attention mining), all else
# equal (same backbone, data, schedule, pseudo-mask settings).
_base_ = ['./gain_effnet-lite0_1xb8-200it_voc-layout-256x256.py']
# Its own best background threshold of the pseudo masks' sweep (docs/ablations_real_linear.md).
bg_threshold = 0.5
model = dict(decode_head=dict(bg_threshold=bg_threshold, loss_decode=dict(loss_weight_am=0.0)))
pseudo_mask = dict(bg_threshold=bg_threshold)
