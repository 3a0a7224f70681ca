"""Layouts that hardware imposes: NVIDIA fragment layouts and Trainium SBUF/PSUM tiles.

>>> import axe
>>> str(axe.presets.nvidia.mma_m16n8k16("C"))
'S[(2,8,4,2):(2@reg,4@lane,1@lane,1@reg)]'
"""

from . import nvidia, trainium

__all__ = ["nvidia", "trainium"]
