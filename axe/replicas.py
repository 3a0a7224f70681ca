"""The distinct replica vectors of a layout, in time and memory bounded by how many there are.

``R`` is a multiset of iters, but ``L(x)`` is a set: equal replica vectors collapse. Enumerating every
combination of digits first (``prod(extents)`` of them) is hopeless for ``R[(2,)*40:(1@lane,)*40]``
(41 distinct vectors) or ``R[10**12:1@lane]`` (too many to list at all). Here:

- iters on different axes combine as a Cartesian product (their vectors never collide);
- the iters of one axis are added one at a time to the set of sums reached so far, which stays
  deduplicated: adding ``(e, s)`` to a set ``A`` gives ``A + {0, s, ..., (e-1)s}``, computed per residue
  class mod ``s`` as a union of runs, so the work is about the size of the result;
- the result is refused with :class:`~axe.AxeError` as soon as it is known to exceed ``limit``
  (:data:`MAX_POINTS` by default) distinct vectors.

>>> from axe.iter import Iter
>>> [(name, len(v), max(v)) for name, v in axis_sums([Iter(2, 1, "lane")] * 40 + [Iter(4, 8, "warp")], "R")]
[('lane', 41, 40), ('warp', 4, 24)]
"""

from __future__ import annotations

import itertools

import sympy

from . import values
from .canonical import canonical_replica
from .errors import AxeError

MAX_POINTS = 1 << 18  # the most distinct replica vectors (coordinates of one apply result) we list
MAX_SYMBOLIC_POINTS = 1 << 12  # the same when they are sympy expressions (each costs sympy arithmetic)
WORK_FACTOR = 8  # listing may take WORK_FACTOR * MAX_POINTS steps, whatever the number of iters


def _too_many(owner, count, limit) -> AxeError:
    return AxeError(f"{owner} has more than {limit} distinct replica vectors"
                    f"{'' if count is None else f' (at least {count})'}: apply lists at most {limit} coordinates "
                    f"(axe.layout.MAX_POINTS); use a layout with fewer replicas, or reason about R with span, "
                    "replica_size or partition instead")


def _too_slow(owner) -> AxeError:
    return AxeError(f"{owner} has too many replica iters to list its distinct replica vectors within "
                    f"{WORK_FACTOR * MAX_POINTS} steps (axe.replicas.WORK_FACTOR x MAX_POINTS); "
                    "use a layout with fewer replicas, or reason about R with span, replica_size or partition")


def _add_run(cur: list, e: int, s: int) -> tuple[list, int]:
    """``cur + {0, s, ..., (e-1)s}`` for distinct ints ``cur`` and ``s > 0``: (the new list, its length)."""
    if len(cur) == 1 and cur[0] == 0:
        return None, e
    by_res: dict = {}
    for a in cur:
        by_res.setdefault(a % s, []).append(a // s)
    runs = []
    count = 0
    for r, ts in by_res.items():
        ts.sort()
        lo = hi = ts[0]
        for t in ts[1:]:
            if t <= hi + e:  # [t, t+e-1] overlaps or touches [lo, hi+e-1]
                hi = t
            else:
                runs.append((r, lo, hi))
                count += hi - lo + e
                lo = hi = t
        runs.append((r, lo, hi))
        count += hi - lo + e
    return runs, count


def _materialise(runs, e: int, s: int) -> list:
    if runs is None:
        return list(range(0, e * s, s))
    out = []
    for r, lo, hi in runs:
        out.extend(range(r + lo * s, r + (hi + e) * s, s))
    return out


def _int_sums(pairs, cap: int, too_many, work: list) -> list:
    """Distinct ``sum k_i s_i`` (``0 <= k_i < e_i``) of int ``(e_i, s_i)`` pairs, raising ``too_many(n)`` past
    ``cap`` of them (before listing them); ``work[0]`` counts down the steps allowed (``too_many(None)``)."""
    shift = 0
    cur = [0]
    for e, s in sorted(pairs, key=lambda t: abs(t[1])):
        if s < 0:  # {0, s, ..., (e-1)s} = (e-1)s + {0, |s|, ..., (e-1)|s|}
            shift += (e - 1) * s
            s = -s
        runs, n = _add_run(cur, e, s)
        if n > cap:
            raise too_many(n)
        work[0] -= len(cur) + n
        if work[0] < 0:
            raise too_many(None)
        cur = _materialise(runs, e, s)
    return [a + shift for a in cur] if shift else cur


def axis_sums(replica, owner="this layout", limit: int = MAX_POINTS) -> list[tuple[str, list]]:
    """``[(axis name, distinct sums of its replica iters)]``, one entry per axis with a replica iter.

    Each list holds 0 first (every digit 0). The product of the lengths is at most ``limit``, else
    :class:`AxeError` naming ``owner``; at most :data:`MAX_SYMBOLIC_POINTS` when a stride is symbolic.
    Extents must be ints (a symbolic extent raises :class:`~axe.UnprovableError`). Symbolic strides
    ``c * g`` (an int ``c`` times the rest) are summed per ``g`` as ints, then combined.

    The iters are first put in canonical form (C0, C1, C2 of :mod:`axe.canonical`: the same set of sums,
    shifted), so that runs of iters that merge cost nothing; the listing then takes at most
    ``WORK_FACTOR * MAX_POINTS`` steps, else :class:`AxeError` (too many replica iters to list in time).
    """
    shifts: dict = {}
    replica = canonical_replica(tuple(replica), shifts)
    work = [WORK_FACTOR * MAX_POINTS]
    by_axis: dict = {}
    for it in replica:
        e, s = it.extent, it.stride
        if type(e) is not int:
            raise values.UnprovableError(
                f"cannot enumerate replica iter {it} with a symbolic extent; bind its symbols first")
        if e == 1 or (type(s) is int and s == 0):
            continue  # adds only the zero vector
        by_axis.setdefault(it.axis.name, []).append((e, s))
    out = []
    done = 1  # product of the sizes of the axes already finished
    for name, its in by_axis.items():
        by_g: dict = {}
        for e, s in its:
            if type(s) is not int:
                c, g = sympy.sympify(s).as_coeff_Mul()
                if not c.is_Integer:
                    c, g = sympy.Integer(1), s
                by_g.setdefault(g, []).append((e, int(c)))
        most = min(limit, MAX_SYMBOLIC_POINTS) if by_g else limit
        cap = most // done

        def too_many(n, done=done, most=most):
            return _too_slow(owner) if n is None else _too_many(owner, n * done, most)

        cur = _int_sums([t for t in its if type(t[1]) is int], cap, too_many, work)
        if by_g:
            parts = [cur] + [[_times(v, g) for v in _int_sums(pairs, cap, too_many, work)]
                             for g, pairs in by_g.items()]
            n = 1
            for part in parts:
                n *= len(part)
            if n > cap:
                raise too_many(n)
            shift = shifts.get(name, 0)
            cur = dict.fromkeys(_sum(combo + (shift,)) for combo in itertools.product(*parts))
            zero_first = [0] + [a for a in cur if not (type(a) is int and a == 0)]
        else:
            shift = shifts.get(name, 0)
            if type(shift) is not int:
                cur = dict.fromkeys(_sum((a, shift)) for a in cur)
                zero_first = [0] + [a for a in cur if not (type(a) is int and a == 0)]
            else:
                zero_first = [0] + sorted(a + shift for a in cur if a + shift != 0)
        out.append((name, zero_first))
        done *= len(zero_first)
    return out


def _times(v: int, g):
    return 0 if v == 0 else (g if v == 1 else v * g)


def _sum(terms):
    """The sum of ints and sympy terms, with sympy's automatic simplification only."""
    total = 0
    for t in terms:
        if type(t) is int:
            total = total + t
        elif type(total) is int and total == 0:
            total = t
        else:
            total = total + t
    if type(total) is not int and total.is_Integer:
        return int(total)
    return total


def count(replica, owner="this layout", limit: int = MAX_POINTS) -> int:
    """How many distinct replica vectors ``replica`` has (1 when empty); AxeError beyond ``limit``."""
    n = 1
    for _, v in axis_sums(replica, owner, limit):
        n *= len(v)
    return n
