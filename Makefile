# Two commands on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: demo test lint venv clean bench gpu

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PIP) install -q -e ".[dev,mpi,cuda,draw]"
	# the Axe authors' release, an oracle for the layout tests (skipped if it cannot be installed)
	$(PIP) install -q apache-tvm-tirx==0.1.0a4 || echo "apache-tvm-tirx unavailable: oracle tests will skip"
	# JAX on CPU with fake devices: oracle for mesh placements (skipped if it cannot be installed)
	$(PIP) install -q "jax[cpu]==0.10.2" || echo "jax unavailable: oracle tests will skip"
	# pycute and cutlass_library only (pure Python): without the deps of CUTLASS's Python emitter, and last,
	# since an install after it would report those deps as missing ("pip's dependency resolver ...")
	$(PIP) install -q --no-deps nvidia-cutlass==4.2.0.0
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) examples/layouts_tour.py
	$(PY) examples/gemm.py
	$(VENV)/bin/mpiexec -n 4 $(PY) examples/tp_mlp.py

test: $(STAMP)
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q -m "not mpi" tests
	$(PY) -m pytest -q --doctest-modules axe dsl lowering backends collectives --doctest-glob='*.md' docs
	$(PY) tests/run_mpi.py

lint: $(STAMP)
	$(VENV)/bin/ruff check axe dsl lowering collectives backends tests examples benchmarks

bench: $(STAMP)
	$(PY) benchmarks/layout_ops.py
	$(PY) benchmarks/cute_ops.py
	$(PY) benchmarks/cpu_backend.py
	$(PY) benchmarks/compile_time.py
	$(PY) benchmarks/collective_overhead.py
	$(VENV)/bin/mpiexec -n 4 $(PY) benchmarks/mpi_collectives.py

# on a machine with an NVIDIA GPU: the GPU tests, then the GPU benchmarks (which say so and exit without one)
gpu: $(STAMP)
	$(PY) -m pytest -q -m gpu tests/backends
	$(PY) benchmarks/gemm.py
	$(PY) benchmarks/memory_bound.py

clean:
	rm -rf $(VENV) build *.egg-info
