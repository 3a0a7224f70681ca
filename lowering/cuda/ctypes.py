"""IR dtypes in CUDA C++: type names, literals and conversions.

f16 and bf16 are carried as their 16 raw bits (``unsigned short``) and converted with PTX ``cvt``
instructions, so the generated source needs no CUDA headers (NVRTC alone compiles it) and every half
operation is computed in f32 and rounded once to nearest even — what the CPU backend does.

>>> ctype("f16"), literal(1.5, "f32"), convert("x", "i32", "f32")
('unsigned short', '1.5f', '((float)(x))')
"""

from __future__ import annotations

import math

import numpy as np

from lowering.ir.errors import DslError

CTYPE = {"f16": "unsigned short", "bf16": "unsigned short", "f32": "float", "f64": "double", "i8": "signed char",
         "i32": "int", "i64": "long long", "bool": "bool"}
HALF = ("f16", "bf16")

_HELPERS = {
    "axe_sw128_desc": """// wgmma smem descriptor, K-major 128-byte swizzle: start >> 4, LBO 16 B (unused), SBO 1024 B
static __device__ __forceinline__ unsigned long long axe_sw128_desc(unsigned int addr) {
  return (unsigned long long)((addr & 0x3FFFF) >> 4) | (1ull << 16) | (64ull << 32)
         | (1ull << 62); }""",
    "axe_h2f": """static __device__ __forceinline__ float axe_h2f(unsigned short h) {
  float f; asm("{ .reg .b16 t; mov.b16 t, %1; cvt.f32.f16 %0, t; }" : "=f"(f) : "h"(h)); return f; }""",
    "axe_f2h": """static __device__ __forceinline__ unsigned short axe_f2h(float f) {
  unsigned short h; asm("{ .reg .b16 t; cvt.rn.f16.f32 t, %1; mov.b16 %0, t; }" : "=h"(h) : "f"(f)); return h; }""",
    "axe_b2f": """static __device__ __forceinline__ float axe_b2f(unsigned short h) {
  return __uint_as_float(((unsigned int)h) << 16); }""",
    "axe_f2b": """static __device__ __forceinline__ unsigned short axe_f2b(float f) {
  unsigned int u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)0x7fc0;
  return (unsigned short)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16); }""",
}


def _floordiv(name: str, t: str, f: str) -> str:
    """Float ``//`` as numpy computes it (npy_divmod), for C type ``t`` whose math functions end in ``f``:
    the exact ``fmod`` first, so ``1.0 // 0.1`` is 9, not ``floor(1.0 / 0.1)`` = 10."""
    return f"""static __device__ __forceinline__ {t} {name}({t} a, {t} b) {{
  const {t} zero = 0, one = 1, half = 0.5;
  if (b == zero) return a / b;
  {t} m = fmod{f}(a, b), d = (a - m) / b;
  if (m != zero && ((b < zero) != (m < zero))) d -= one;
  if (d == zero) return copysign{f}(zero, a / b);
  {t} q = floor{f}(d);
  return d - q > half ? q + one : q; }}"""


_HELPERS["axe_floordivf"] = _floordiv("axe_floordivf", "float", "f")
_HELPERS["axe_floordiv"] = _floordiv("axe_floordiv", "double", "")


def prelude(body: str) -> str:
    """The helper functions ``body`` uses (f16/bf16 are raw bits computed in f32, rounded to nearest even)."""
    used = [code for name, code in _HELPERS.items() if name + "(" in body]
    if not used:
        return ""
    return "\n".join(["// helpers (f16/bf16 are raw bits, their arithmetic f32 rounded to nearest even)"] + used)


def ctype(dtype: str) -> str:
    try:
        return CTYPE[dtype]
    except KeyError:
        raise DslError(f"no CUDA type for dtype {dtype!r}") from None


def literal(value, dtype: str) -> str:
    """A C++ literal of ``dtype`` (halves as their bits)."""
    if dtype == "bool":
        return "true" if value else "false"
    if dtype in ("i8", "i32"):
        return f"({int(value)})" if int(value) < 0 else str(int(value))
    if dtype == "i64":
        return f"({int(value)}LL)"
    v = float(value)
    if dtype in HALF:
        return f"(unsigned short){_half_bits(v, dtype)}"
    if math.isnan(v):
        return "__int_as_float(0x7fffffff)" if dtype == "f32" else "__longlong_as_double(0x7fffffffffffffffLL)"
    if math.isinf(v):
        if dtype == "f32":
            return "__int_as_float(0x7f800000)" if v > 0 else "__int_as_float(0xff800000)"
        return "__longlong_as_double(0x7ff0000000000000LL)" if v > 0 else "__longlong_as_double(0xfff0000000000000LL)"
    text = repr(v)
    if "e" not in text and "." not in text:
        text += ".0"
    return f"{text}f" if dtype == "f32" else text


def _half_bits(v: float, dtype: str) -> int:
    if dtype == "f16":   # numpy's rounding: nearest even, past the largest half to infinity
        with np.errstate(over="ignore"):
            return int(np.array(v, np.float64).astype(np.float16).view(np.uint16))
    with np.errstate(over="ignore"):
        u = int(np.array(v, np.float64).astype(np.float32).view(np.uint32))
    if math.isnan(v):
        return 0x7FC0
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF


def to_f32(x: str, dtype: str) -> str:
    """An f16/bf16 expression's value as float."""
    return f"axe_h2f({x})" if dtype == "f16" else f"axe_b2f({x})"


def from_f32(x: str, dtype: str) -> str:
    return f"axe_f2h({x})" if dtype == "f16" else f"axe_f2b({x})"


def compute_type(dtype: str) -> str:
    """The dtype arithmetic on ``dtype`` values is done in (halves: f32)."""
    return "f32" if dtype in HALF else dtype


def convert(x: str, src: str, dst: str) -> str:
    """Convert expression ``x`` of dtype ``src`` to ``dst`` as the CPU backend does (numpy astype,
    floats to ints truncating, halves rounded to nearest even)."""
    if src == dst:
        return x
    if src in HALF:
        return convert(to_f32(x, src), "f32", dst)
    if dst in HALF:
        return from_f32(convert(x, src, "f32"), dst)
    if dst == "bool":
        return f"((bool)({x}))"
    return f"(({ctype(dst)})({x}))"
