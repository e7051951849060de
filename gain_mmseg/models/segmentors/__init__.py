from .gain_encoder_decoder import GAINEncoderDecoder

__all__ = ['GAINEncoderDecoder']
