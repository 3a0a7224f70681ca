"""Execution backends: ``cpu`` (numpy SIMT interpreter) and ``cuda`` (NVRTC + driver)."""
