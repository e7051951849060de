# Plain CAM baseline: the GAIN demo config with α = 0 (no attention mining), all else equal.
_base_ = ['./gain_r18-tiny_demo.py']
model = dict(decode_head=dict(loss_decode=dict(loss_weight_am=0.0)))
