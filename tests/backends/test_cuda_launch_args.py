"""Driver-call arguments built without a GPU: the binding's type checks run before it looks for the driver."""

import pytest

drv = pytest.importorskip("cuda.bindings.driver")

from backends.cuda.run import tensor_map_args  # noqa: E402


def _call_until_driver(fn, *args):
    """Call ``fn``; a missing driver library is fine here, a rejected argument type is not."""
    try:
        fn(*args)
    except TypeError:
        raise
    except Exception as e:  # noqa: BLE001  (no driver on this machine: the arguments were accepted)
        return type(e).__name__
    return "ok"


@pytest.mark.parametrize("dtype, swizzle", [("f16", 128), ("bf16", 64), ("f16", 32)])
def test_tensor_map_arguments_have_the_bindings_types(dtype, swizzle):
    args = tensor_map_args(drv, dtype, 0x10000, 512, 1024, 128, swizzle // 2, swizzle)
    assert [int(v) for v in args[3]] == [1024, 512]          # sizes, innermost first
    assert [int(v) for v in args[4]] == [2048]               # the row stride in bytes
    assert [int(v) for v in args[5]] == [swizzle // 2, 128]  # the box, innermost first
    assert _call_until_driver(drv.cuTensorMapEncodeTiled, *args)


def test_plain_ints_are_rejected_by_the_binding():
    """What the runtime passed before: the binding refuses Python ints where it wants cuuint64_t."""
    args = list(tensor_map_args(drv, "f16", 0x10000, 512, 1024, 128, 64, 128))
    args[3] = [1024, 512]
    with pytest.raises(TypeError):
        drv.cuTensorMapEncodeTiled(*args)


def test_a_launch_finds_its_source_without_hashing_the_kernel(monkeypatch):
    """Hashing a big kernel's IR takes milliseconds, more than a small kernel runs: the source is found by
    the kernel object's identity."""
    from backends.cuda import run as cuda_run
    from lowering import ir

    k = ir.Kernel("k", (), (1,), 32, (ir.Barrier("warp"),))
    first = cuda_run._source(k)

    def refuse(self):
        raise AssertionError("hashed the kernel")

    monkeypatch.setattr(ir.Kernel, "__hash__", refuse)
    assert cuda_run._source(k) is first


def test_stream_ordered_copies_and_pointer_queries_have_the_bindings_types():
    """What the runtime passes for stream-ordered staging, CAI stream waits and the device check."""
    s = drv.CUstream(0x1234)
    assert _call_until_driver(drv.cuMemcpyHtoDAsync, 0x10000, 0x20000, 64, s)
    assert _call_until_driver(drv.cuStreamSynchronize, s)
    assert _call_until_driver(drv.cuPointerGetAttribute,
                              drv.CUpointer_attribute.CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, 0x10000)


def test_stream_waits_on_a_producers_event_have_the_bindings_types():
    assert _call_until_driver(drv.cuEventCreate, drv.CUevent_flags.CU_EVENT_DISABLE_TIMING)
    ev = drv.CUevent()
    assert _call_until_driver(drv.cuEventRecord, ev, drv.CUstream(0x1234))
    assert _call_until_driver(drv.cuStreamWaitEvent, drv.CUstream(0), ev, 0)
    assert _call_until_driver(drv.cuEventDestroy, ev)
