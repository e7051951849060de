# GAIN_ext with 200 pixel-labelled images, drawn (seed 0) from the 1,464 VOC12 train images.
_base_ = ['./gain-ext_r50-d8_voc12aug-1464px.py']
train_dataloader = dict(dataset=dict(num_pixel=200, seed=0))
