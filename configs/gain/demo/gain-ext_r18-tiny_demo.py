# GAIN_ext (L_cl + α L_am + ω_e L_e): 30 of the demo's training images keep their pixel masks.
_base_ = ['./gain_r18-tiny_demo.py']
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='PixelSupervisionDataset',
        num_pixel=30,
        seed=0,
        dataset={{_base_.train_dataloader.dataset}}))
