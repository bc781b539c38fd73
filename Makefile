# qrbm build. `make run` and `make check` install missing Debian packages first.
PREFIX   ?= /usr/local
NP       ?= 2
SANITIZE ?= 0
CC       := mpicc
PKGS     := petsc hdf5-openmpi
DEPS_OK  := .deps-ok

CFLAGS   ?= -O3 -march=native -g
CFLAGS   += -std=c11 -Wall -Wextra -Werror -fopenmp -fcx-limited-range -Iinclude
LDLIBS   := -lfftw3_mpi -lfftw3_omp -lfftw3 -llapack -lblas -lm
ifeq ($(SANITIZE),1)
  CFLAGS  += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -O1
  LDFLAGS += -fsanitize=address,undefined
  # Open MPI and HDF5 keep allocations until exit: leak reports would be theirs, not ours
  export ASAN_OPTIONS = detect_leaks=0:exitcode=86
  export UBSAN_OPTIONS = print_stacktrace=1
endif
# Objects remember the flavour they were built with: switching SANITIZE rebuilds everything.
STAMP    := build/.flavour-sanitize$(SANITIZE)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))

LIB_SRC  := $(filter-out src/main.c src/compare_main.c src/extrapolate_main.c,$(wildcard src/*.c))
LIB_OBJ  := $(LIB_SRC:src/%.c=build/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/tests/%)
MPIRUN   := OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe
PY       := /usr/bin/python3

.PHONY: all deps run study study-full check unit pytest bench bench-wp install clean FORCE
all: bin/qrbm bin/qrbm-compare bin/qrbm-extrapolate

$(DEPS_OK): tools/install-deps
	tools/install-deps
	@touch $@
deps: $(DEPS_OK)

$(STAMP): | build
	rm -rf build/.flavour-* build/*.o build/*.a build/tests build/bench bin/qrbm bin/qrbm-compare bin/qrbm-extrapolate
	touch $@
build/%.o: src/%.c $(wildcard include/qrbm/*.h) $(STAMP) | build
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@
# The git commit and whether the tree was modified, for the outputs' provenance (src/identity.c);
# rewritten only when it changes, so an unchanged tree rebuilds nothing.
GIT_COMMIT = $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
GIT_DIRTY  = $(shell test -z "$$(git status --porcelain --untracked-files=no 2>/dev/null)" && echo 0 || echo 1)
build/git.h: FORCE | build
	@printf '#define QRBM_GIT_COMMIT "%s"\n#define QRBM_GIT_DIRTY %s\n' "$(GIT_COMMIT)" "$(GIT_DIRTY)" > $@.new
	@cmp -s $@.new $@ && rm $@.new || mv $@.new $@
build/identity.o: build/git.h
build/identity.o: CFLAGS += -Ibuild
FORCE:
build/libqrbm.a: $(LIB_OBJ)
	ar rcs $@ $^
bin/qrbm: build/main.o build/libqrbm.a | bin
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(PKG_LIBS) $(LDLIBS)
bin/qrbm-compare: build/compare_main.o build/libqrbm.a | bin
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(PKG_LIBS) $(LDLIBS)
bin/qrbm-extrapolate: build/extrapolate_main.o build/libqrbm.a | bin
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(PKG_LIBS) $(LDLIBS)
build/tests/%: tests/unit/%.c build/libqrbm.a tests/unit/unit.h | build
	@mkdir -p build/tests
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(LDFLAGS) $(filter-out %.h,$^) -o $@ $(PKG_LIBS) $(LDLIBS) -lcmocka
build bin:
	mkdir -p $@

run: $(DEPS_OK) bin/qrbm
	$(MPIRUN) -np $(NP) bin/qrbm -options_file inputs/default.opts
	$(PY) tools/plot_wigner.py qrbm-default.h5 -o qrbm-default-wigner.png

# The quick convergence study (docs/study.md): every point an exact enumeration, niced.
study: $(DEPS_OK) all
	nice $(PY) tools/qrbm-study run inputs/study-quick.toml --np $(NP)

# The study of docs/results.md (about 2 hours on a quiet 2-core machine; resumable: run it again
# after an interruption), then its tables, data and figures copied to docs/results/.
RESULTS = figures study.csv fits.json slopes.txt cost.csv summary.json report.md
study-full: $(DEPS_OK) all
	nice $(PY) tools/qrbm-study run inputs/study-full.toml --np $(NP) --dir study-full
	rm -rf docs/results && mkdir -p docs/results
	mkdir -p docs/results/tables && cp study-full/tables/*.txt docs/results/tables/
	cd study-full && cp -r $(RESULTS) ../docs/results/

unit: $(DEPS_OK) $(UNIT_BIN)
	@pass=0; fail=0; failed=""; \
	for t in $(UNIT_BIN); do \
	  echo "== $$t"; \
	  if $(MPIRUN) -np 1 $$t; then pass=$$((pass + 1)); else fail=$$((fail + 1)); failed="$$failed $$t"; fi; \
	done; \
	echo "unit: $$pass passed, $$fail failed$${failed:+ (failed:$$failed)}"; \
	test $$fail -eq 0
pytest: $(DEPS_OK) bin/qrbm bin/qrbm-compare bin/qrbm-extrapolate
	$(PY) -m pytest -q tests
check: unit pytest

build/bench/%: bench/%.c build/libqrbm.a | build
	@mkdir -p build/bench
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(LDFLAGS) $^ -o $@ $(PKG_LIBS) $(LDLIBS)
bench: $(DEPS_OK) bin/qrbm build/bench/bench_potential build/bench/bench_rdm build/bench/bench_stream build/bench/bench_step
	$(PY) bench/run_bench.py

# Work-precision diagram against XMDS2 (bench/work_precision.py). xmds2 is installed here only,
# never by make run / make check.
bench-wp: $(DEPS_OK) bin/qrbm
	@command -v xmds2 >/dev/null || { apt-get update && apt-get install -y --no-install-recommends xmds2; } || sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends xmds2'
	$(PY) bench/work_precision.py

install: bin/qrbm bin/qrbm-compare bin/qrbm-extrapolate
	install -D -m 755 bin/qrbm $(DESTDIR)$(PREFIX)/bin/qrbm
	install -D -m 755 bin/qrbm-compare $(DESTDIR)$(PREFIX)/bin/qrbm-compare
clean:
	rm -rf build bin $(DEPS_OK)
