"""Classification head whose output for segmentation is its attention maps (GAIN, Eq. 1-2)."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import Tensor

from gain_mmseg.models.attention import cam, grad_cam, label_pairs, normalize_attention
from gain_mmseg.structures.image_labels import batch_image_labels, foreground_indices


@MODELS.register_module()
class AttentionMiningHead(BaseDecodeHead):
    """Multi-label classifier on one backbone level, with differentiable attention maps.

    Scores: ``num_convs`` conv layers (kernel ``kernel_size``; 1 gives the fully convolutional
    form of VGG's fc6/fc7), global average pooling, then a linear layer (``conv_seg``, 1x1)
    with one output per foreground class. The attention is Grad-CAM on the head's input
    features f (the backbone level ``in_index``): the analytic CAM path when the head is GAP +
    linear, the autograd path otherwise.

    For segmentation (validation, ``predict``) the head outputs ``num_classes`` channels: the
    normalised attention map of each class present in the image (ground-truth image labels
    when the sample carries them and ``use_gt_labels``, else classes scored above
    ``score_threshold``), zero for the others, and a constant ``bg_threshold`` for background.
    The argmax is then the usual CAM seed; mmseg's ``IoUMetric`` on it is the attention mIoU.

    Args:
        num_convs: conv layers before pooling. Default 0 (GAP + linear, CAM path).
        kernel_size: kernel of those layers. Default 1.
        attention_path: 'auto' (CAM when ``num_convs == 0``, else Grad-CAM), 'cam' or
            'gradcam'. Default 'auto'.
        background_index: dataset index of the background class. Default 0.
        bg_threshold: background score in the segmentation output. Default 0.15 (IRN's).
        score_threshold: sigmoid score above which a class counts as present when no image
            labels are given. Default 0.5.
        use_gt_labels: use the samples' image-level labels at inference when present, so the
            val mIoU measures the attention maps, not the classifier. Default True.
        **kwargs: :class:`BaseDecodeHead` arguments; ``num_classes`` counts background and
            ``loss_decode`` is the :class:`GAINLoss`.
    """

    def __init__(self,
                 num_convs: int = 0,
                 kernel_size: int = 1,
                 attention_path: str = 'auto',
                 background_index: int = 0,
                 bg_threshold: float = 0.15,
                 score_threshold: float = 0.5,
                 use_gt_labels: bool = True,
                 **kwargs) -> None:
        kwargs.setdefault('dropout_ratio', 0.0)
        kwargs.setdefault('loss_decode', dict(type='GAINLoss'))
        super().__init__(**kwargs)
        if attention_path not in ('auto', 'cam', 'gradcam'):
            raise ValueError(f"attention_path must be 'auto', 'cam' or 'gradcam', "
                             f'got {attention_path!r}')
        if attention_path == 'cam' and num_convs > 0:
            raise ValueError("attention_path='cam' needs a GAP + linear head (num_convs=0)")
        self.use_cam = attention_path == 'cam' or (attention_path == 'auto' and num_convs == 0)
        self.background_index = background_index
        self.fg_index = foreground_indices(self.num_classes, background_index)
        self.bg_threshold = bg_threshold
        self.score_threshold = score_threshold
        self.use_gt_labels = use_gt_labels
        self.convs = nn.Sequential(*[
            ConvModule(self.in_channels if i == 0 else self.channels, self.channels,
                       kernel_size, padding=kernel_size // 2, conv_cfg=self.conv_cfg,
                       norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
            for i in range(num_convs)])
        cls_in = self.channels if num_convs else self.in_channels
        self.conv_seg = nn.Conv2d(cls_in, len(self.fg_index), kernel_size=1)

    @property
    def num_fg(self) -> int:
        """Number of classifier outputs (foreground classes)."""
        return len(self.fg_index)

    def classify(self, feats: Tensor) -> Tensor:
        """Class scores s (logits), (N, C_fg), from the attention features f (N, K, h, w)."""
        pooled = self.convs(feats).mean(dim=(2, 3), keepdim=True)
        if self.dropout is not None:
            pooled = self.dropout(pooled)
        return self.conv_seg(pooled).flatten(1)

    def forward_cls(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, Tensor]:
        """Stream S_cl: scores (N, C_fg) and the features f (N, K, h, w) they came from."""
        feats = self._transform_inputs(inputs)
        return self.classify(feats), feats

    def attention(self, feats: Tensor, scores: Tensor, img_idx: Tensor, fg_cls_idx: Tensor,
                  create_graph: bool) -> Tensor:
        """Unnormalised attention A (P, h, w) of classifier classes ``fg_cls_idx`` (P,)."""
        if self.use_cam:
            return cam(feats, self.conv_seg.weight.flatten(1), img_idx, fg_cls_idx)
        return grad_cam(feats, scores, img_idx, fg_cls_idx, create_graph)

    def attention_maps(self, inputs: Sequence[Tensor], labels: Optional[Tensor] = None
                       ) -> Tuple[Tensor, Tensor, Tensor]:
        """Inference-time attention of each (image, class) pair, without a training graph.

        Args:
            inputs: backbone features, one tensor per level.
            labels: foreground image labels, bool (N, C_fg); None → classes whose sigmoid
                score exceeds ``score_threshold``.

        Returns:
            ``img_idx`` (P,), ``cls_idx`` (P,) (classifier order) and the unnormalised maps
            A (P, h, w).
        """
        with torch.enable_grad():
            feats = self._transform_inputs(inputs)
            if not self.use_cam:
                feats = feats.detach().requires_grad_()
            scores = self.classify(feats)
            if labels is None:
                labels = scores.sigmoid() > self.score_threshold
            img_idx, cls_idx = label_pairs(labels.to(scores.device))
            maps = self.attention(feats, scores, img_idx, cls_idx, create_graph=False)
        return img_idx, cls_idx, maps.detach()

    def forward(self, inputs: Sequence[Tensor], labels: Optional[Tensor] = None) -> Tensor:
        """Segmentation scores (N, num_classes, h, w) from the normalised attention maps.

        Args:
            inputs: backbone features, one tensor per level.
            labels: as in :meth:`attention_maps`.
        """
        img_idx, cls_idx, maps = self.attention_maps(inputs, labels)
        n = inputs[0].shape[0]
        seg = maps.new_zeros((n, self.num_classes) + maps.shape[-2:])
        seg[:, self.background_index] = self.bg_threshold
        fg_index = torch.as_tensor(self.fg_index, device=seg.device)
        seg[img_idx, fg_index[cls_idx]] = normalize_attention(maps)
        return seg

    def loss(self, inputs: Tuple[Tensor], batch_data_samples: list, train_cfg: dict) -> dict:
        """Stream S_cl alone: ``{'loss_cl': ...}`` (Eq. 3's L_cl) from the image-level labels,
        so that the head also trains a plain CAM classifier inside mmseg's
        ``EncoderDecoder``. L_am (Eq. 5) and L_e (Eq. 7) need the input images, which only
        the segmentor holds: with α > 0, or a pixel-supervised sample, this is an error
        naming ``GAINEncoderDecoder`` rather than GAIN silently trained as CAM.

        Args:
            inputs: backbone features, one tensor per level.
            batch_data_samples: the batch's ``SegDataSample`` (image labels from their
                ``img_labels`` or masks).
            train_cfg: unused (mmseg's contract).
        """
        gain_loss = self.loss_decode
        pixel = any(s.metainfo.get('pixel_supervised', False) for s in batch_data_samples)
        if gain_loss.loss_weight_am > 0 or (pixel and gain_loss.loss_weight_e > 0):
            raise TypeError(
                "AttentionMiningHead alone computes L_cl only; GAIN's L_am (loss_weight_am > 0) "
                "and L_e (pixel-supervised samples) need the images: use "
                "model=dict(type='GAINEncoderDecoder', ...) instead of "
                f"{self.__class__.__name__} inside another segmentor")
        scores, _ = self.forward_cls(inputs)
        labels = batch_image_labels(batch_data_samples, self.num_classes, self.ignore_index)
        return gain_loss(scores, labels[:, self.fg_index].to(scores.device))

    def labels_from_metas(self, batch_img_metas: List[dict]) -> Optional[Tensor]:
        """Foreground labels (N, C_fg) from the metas' ``img_labels``, if all carry them."""
        if not (self.use_gt_labels and all('img_labels' in m for m in batch_img_metas)):
            return None
        labels = torch.zeros((len(batch_img_metas), self.num_fg), dtype=torch.bool)
        for i, meta in enumerate(batch_img_metas):
            present = [c for c in meta['img_labels'] if c != self.background_index]
            labels[i, [self.fg_index.index(c) for c in present]] = True
        return labels

    def predict(self, inputs: Tuple[Tensor], batch_img_metas: List[dict],
                test_cfg: dict) -> Tensor:
        """Attention segmentation scores resized to the input, (N, num_classes, H, W)."""
        labels = self.labels_from_metas(batch_img_metas)
        return self.predict_by_feat(self.forward(inputs, labels), batch_img_metas)
