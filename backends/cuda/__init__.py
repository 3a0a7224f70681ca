"""CUDA runtime: NVRTC compilation, an on-disk compile cache and an optional driver launch path.

There is no CUDA code generator yet; these modules take CUDA C++ source text.
"""
