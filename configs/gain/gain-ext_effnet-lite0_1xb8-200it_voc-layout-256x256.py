# GAIN_ext on photographs (L_cl + α L_am + ω_e L_e): about 10 % of the train images keep their
# pixel masks (num_pixel); every other image contributes its image-level labels only. L_e
# weighs ω_e = 0.1 (the base config's loss_weight_e). Their pseudo masks are their ground
# truth (keep_pixel_masks): stage 2 trains on the pixel labels the user has; the report
# scores the attention's masks of the other images apart.
_base_ = ['./gain_effnet-lite0_1xb8-200it_voc-layout-256x256.py']
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='PixelSupervisionDataset',
        num_pixel=14,
        seed=0,
        dataset={{_base_.train_dataloader.dataset}}))
pseudo_mask = dict(keep_pixel_masks=True)
