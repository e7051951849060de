# GAIN (self-guidance, L_cl + α L_am) on photographs in the VOC layout, from ImageNet
# EfficientNet-Lite0 (configs/_base_/models/efficientnet-lite0.py). Validation reports the
# attention mIoU on val; when training ends, CAMPseudoLabelHook writes the pseudo masks of the
# train images (work_dir/pseudo_masks). The attention-mining options are those measured best on
# photographs (docs/ablations_real_shipped.md, docs/ablations_real_linear.md); `data_root` (or
# the tools' --data-root) picks the folder.
_base_ = ['mmseg::_base_/default_runtime.py', '../_base_/datasets/voc_layout_photos.py',
          '../_base_/models/efficientnet-lite0.py', '../_base_/schedules/stage1_photos_200it.py']
custom_imports = dict(imports=['gain_mmseg'], allow_failed_imports=False)

# Background score of the attention segmentation (val) and of the pseudo masks: the best of
# the pseudo masks' threshold sweep for these settings, the mean of seeds 0-2's best (row
# default+gated_area of docs/ablations_real_linear.md: 0.40 ± 0.04).
bg_threshold = 0.4
model = dict(
    type='GAINEncoderDecoder',
    data_preprocessor=dict(size={{_base_.crop_size}}),
    decode_head=dict(
        type='AttentionMiningHead',
        in_channels={{_base_.last_channels}},
        in_index=-1,
        channels={{_base_.last_channels}},
        num_classes={{_base_.num_classes}},
        bg_threshold=bg_threshold,
        # α = 0.3: at the paper's α = 1 attention mining outweighs L_cl and spreads the maps
        # over the context an ImageNet network also recognises the class by.
        # ω_e = 0.1 (L_e of the GAIN_ext config built on this one), not the demo's 1: with
        # 14 pixel-labelled photographs a heavier L_e pulls the maps towards those images'
        # masks and away from the other images (rows gain_ext, gain_ext+omega_e1); 0.3 ties
        # 0.1 in the masks and in stage 2 (row gain_ext+omega_e0.3).
        loss_decode=dict(
            type='GAINLoss', loss_weight_am=0.3, loss_weight_e=0.1,
            am_warmup_ratio=0.5, am_ramp_ratio=0.1,
            # The area prior keeps attention mining from spreading over the context that
            # a pretrained network also recognises the class by; on photographs it carries
            # most of what GAIN adds over CAM (rows default-area and default+area_only of
            # docs/ablations_real_linear.md). The linear prior λ · mean T(A) shrinks every
            # map and costs the recall of objects that fill their image; the gated prior
            # weighs each map's area by how far erasing it removed its class, against the
            # batch's other maps, and gives that recall back (row default+gated_area and its
            # class-by-class table).
            am_area_prior='gated',
            am_area_weight=5.0)),
    # σ of T(A) = sigmoid(ω (A − σ)): erasing from a quarter of each map's peak makes the
    # masked images lose more of the class, which ranks the attention better on photographs.
    am_sigma=0.25,
    # ω = 5: a softer T(A) than the usual 10 ranked the pixels better on photographs (a seed-0
    # screen, docs/ablations_real_levers.md; the 3-seed pairing with CAM with the linear prior
    # is docs/ablations_real_linear.md).
    am_omega=5.0,
    am_scoring_grad=False,
    am_freeze_bn=True,
    am_fill='mean',
    # For am_fill='blur': an eighth of the input's side.
    am_fill_kernel=0.125,
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
# Pseudo masks: scale 1.0 = the training scale (long side ref_size), with flips. Up to 3 times
# the training size: at output stride 16 the larger inputs give the attention finer cells.
# These are CAM's best scales (docs/ablations_real_levers.md, docs/ablations_real_linear.md);
# up to 4 gave GAIN no more than a seed's spread at nearly three times the labelling time.
# The dense CRF lifted every method's masks on every seed (rows cam+crf, default+crf,
# default+gated_area+crf), for about 1 s more per train image.
pseudo_mask = dict(scales=(1.0, 1.5, 2.0, 2.5, 3.0), flip=True, bg_threshold=bg_threshold,
                   crf=True, ref_size={{_base_.train_size}})
custom_hooks = [dict(type='GAINScheduleHook'), dict(type='CAMPseudoLabelHook')]
