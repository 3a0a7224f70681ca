"""Fuzz the layout text: mutated layout strings get a layout that round-trips, or a typed error, quickly.

Seeds are the layout texts of the axe tests and docs and a few presets; each input is a seed after a few
random mutations (character insertions, deletions and replacements, numbers blown up past 64 bits, axis
names replaced by random or mistyped ones, parts duplicated or nested). For every input:

- ``Layout.parse`` returns a layout or raises an ``axe.AxeError`` (never a bare ValueError, TypeError,
  RecursionError, ...);
- an accepted layout satisfies ``parse(str(L)) == L`` (structurally too), and so does its canonical form;
- ``apply``/``apply_base`` of index 0 answer or raise ``AxeError``;
- nothing takes longer than ``PER_INPUT_S`` (a ``SIGALRM`` timer interrupts it).

``AXE_FUZZ_N`` (default 300) sets the number of inputs and ``AXE_FUZZ_SEED`` the seed; run with ``-s`` to see
the counts, e.g. ``AXE_FUZZ_N=20000 pytest -s tests/axe/test_fuzz_layout_text.py``.
"""

from __future__ import annotations

import collections
import os
import pathlib
import random
import re
import signal
import time

import pytest

import axe

N = int(os.environ.get("AXE_FUZZ_N", "300"))
SEED = int(os.environ.get("AXE_FUZZ_SEED", "0"))
PER_INPUT_S = float(os.environ.get("AXE_FUZZ_PER_INPUT_S", "5.0"))  # the slowest input takes ~0.7 s

ROOT = pathlib.Path(__file__).resolve().parents[2]
_TEXT = re.compile(r"""["'](S\[[^"'\n]*)["']""")

BLOWUPS = ["2**70", "2**63", "9223372036854775808", "9223372036854775807", "-9223372036854775807",
           "99999999999999999999999", "10**30", "2**64", "3**40", "0", "-1", "2**-3", "n**-70", "n**65",
           "(n*2**62)", "n/2", "(n+1)/3", "floor(n/2)", "Mod(n,4)", "Max(n,2**62)", "2**62*2**2", "k"]
AXES = ["lane", "warp", "reg", "m", "gpuid", "warpgroup", "cta", "cluster", "P", "F", "tlane", "tcol",
        "laneid", "warpid", "wgid", "x", "tx"]
TYPOS = ["lan", "lnae", "warpp", "wrap", "regs", "Lane", "WARP", "gpu", "ctas", "clusterr", "bad name",
         "é", "1lane", "_", "a" * 200]
ALPHABET = "SR[]():,@+-*/%^0123456789 nkaelprwgm_\t\n\x00é"


def _parses(text: str) -> bool:
    try:
        axe.Layout.parse(text)
    except axe.AxeError:
        return False
    return True


def _seeds() -> list[str]:
    """The layout texts of tests/axe and docs that parse (some are there to fail), and a few presets."""
    found: dict[str, None] = {}
    for path in sorted((ROOT / "tests" / "axe").glob("*.py")) + sorted((ROOT / "docs").glob("*.md")):
        for t in _TEXT.findall(path.read_text()):
            if "{" not in t:
                found.setdefault(t)
    presets = [
        lambda: axe.presets.nvidia.mma_m16n8k16("C"),
        lambda: axe.presets.nvidia.mma_m16n8k16("A"),
        lambda: axe.presets.nvidia.ldmatrix(4),
        lambda: axe.presets.nvidia.wgmma_accumulator(64),
        lambda: axe.presets.trainium.sbuf((128, 64)),
    ]
    for make in presets:
        try:
            found.setdefault(str(make()))
        except Exception:  # a preset being reworked elsewhere only costs us a seed
            pass
    found.setdefault("S[(8,2,4,2):(4@lane,1@warp,1@lane,1@reg)] + R[2:4@warp] + 5@warp")
    found.setdefault("S[(n,(k + 1)):((k + 1),1)] + (n*2)@lane")
    found.setdefault("S[2:1] + R[(2,2,2,2,2,2,2,2):(1@lane,1@lane,1@lane,1@lane,1@lane,1@lane,1@lane,1@lane)]")
    return [t for t in found if _parses(t)]


def _numbers(text):
    return [m.span() for m in re.finditer(r"\d+", text)]


def _mutate(rng: random.Random, text: str, seeds: list[str]) -> str:
    kind = rng.randrange(10)
    if kind == 0 and text:  # insert characters
        i = rng.randrange(len(text) + 1)
        return text[:i] + "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 3))) + text[i:]
    if kind == 1 and text:  # delete a run
        i = rng.randrange(len(text))
        return text[:i] + text[i + rng.randint(1, 4):]
    if kind == 2 and text:  # replace a character
        i = rng.randrange(len(text))
        return text[:i] + rng.choice(ALPHABET) + text[i + 1:]
    if kind in (3, 4) and _numbers(text):  # blow a number up
        a, b = rng.choice(_numbers(text))
        return text[:a] + rng.choice(BLOWUPS) + text[b:]
    if kind == 5 and "@" in text:  # another axis name, or a typo of one
        names = list(re.finditer(r"@([A-Za-z_]\w*)", text))
        if names:
            m = rng.choice(names)
            return text[:m.start(1)] + rng.choice(AXES + TYPOS) + text[m.end(1):]
    if kind == 6:  # add replicas, possibly many or huge
        e = rng.choice(["2", "4", "2**20", "2**40", "10**12", "9223372036854775807", "n", "3"])
        s = rng.choice(["1", "0", "-1", "2", "n", "2**62"]) + rng.choice(["@lane", "@warp", "", "@reg"])
        reps = rng.randint(1, 40)
        return text + f" + R[({','.join([e] * reps)}):({','.join([s] * reps)})]"
    if kind == 7:  # add an offset
        return text + rng.choice([" + ", " - "]) + rng.choice(BLOWUPS + ["5", "3"]) + rng.choice(["@warp", "", "@m"])
    if kind == 8 and text:  # nest or splice
        i, j = sorted(rng.randrange(len(text) + 1) for _ in range(2))
        if rng.random() < 0.5:
            return text[:i] + "(" * 3 + text[i:j] + ")" * 3 + text[j:]
        other = rng.choice(seeds)
        return text[:i] + other[rng.randrange(len(other) + 1):]
    return text + rng.choice(["", " +", ")", "]", "@", "**64**64", "*" * 3])


class _Timeout(BaseException):
    """Raised by the alarm; a BaseException so that no ``except Exception`` in the library swallows it."""


def _on_alarm(signum, frame):
    raise _Timeout


def _check(text: str) -> str:
    """``"accepted"`` or the name of the AxeError type; raises AssertionError (or anything) on a failure."""
    try:
        L = axe.Layout.parse(text)
    except axe.AxeError as e:
        return type(e).__name__
    P = axe.Layout.parse(str(L))
    assert P == L and P.same_as(L), f"parse(str(L)) != L: {str(L)!r} -> {str(P)!r}"
    C = L.canonicalize()
    Q = axe.Layout.parse(str(C))
    assert Q == C and Q.same_as(C), f"canonical form does not round-trip: {str(C)!r} -> {str(Q)!r}"
    for f in (L.apply, L.apply_base):
        try:
            f(0)
        except axe.AxeError:
            pass
    return "accepted"


def fuzz(n: int, seed: int) -> tuple[collections.Counter, list, float]:
    rng = random.Random(seed)
    seeds = _seeds()
    counts: collections.Counter = collections.Counter()
    failures = []
    slowest = 0.0
    old = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        for _ in range(n):
            text = rng.choice(seeds)
            for _ in range(rng.choice((1, 1, 1, 2, 3))):
                text = _mutate(rng, text, seeds)
            t0 = time.perf_counter()
            signal.setitimer(signal.ITIMER_REAL, PER_INPUT_S)
            try:
                counts[_check(text)] += 1
            except _Timeout:
                counts["timeout"] += 1
                failures.append((text, f"took more than {PER_INPUT_S}s"))
            except Exception as e:  # anything that is not an AxeError, or a failed round trip
                counts["failure"] += 1
                failures.append((text, f"{type(e).__name__}: {e}"))
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            slowest = max(slowest, time.perf_counter() - t0)
    finally:
        signal.signal(signal.SIGALRM, old)
    return counts, failures, slowest


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs SIGALRM timers")
def test_mutated_layout_text_round_trips_or_raises_axe_error():
    t0 = time.perf_counter()
    counts, failures, slowest = fuzz(N, SEED)
    took = time.perf_counter() - t0
    accepted = counts["accepted"]
    refused = {k: v for k, v in counts.items() if k not in ("accepted", "failure", "timeout")}
    print(f"\nlayout text fuzz: {N} inputs (seed {SEED}) in {took:.1f}s, slowest {slowest * 1000:.0f} ms: "
          f"{accepted} accepted, refused {dict(sorted(refused.items()))}, "
          f"{counts['failure']} failures, {counts['timeout']} timeouts")
    assert not failures, "\n".join(f"{t!r}: {why}" for t, why in failures[:20])
    assert accepted > N // 20, f"only {accepted} of {N} mutated texts parsed: the mutations are too destructive"


def test_fuzz_seeds_are_valid():
    for text in _seeds():
        assert _check(text) == "accepted", text
