# shellcheck shell=bash disable=SC2034 # QRBM_RC, QRBM_CMD, QRBM_SIGNALLED are read by the job scripts
# Shared part of the qrbm job scripts (sourced by jobs/*.sbatch; not a job script itself).
#
# The job scripts find the repository as QRBM_ROOT (environment) or, failing that, from the path
# the job was submitted with (scontrol's Command=), or the submit directory. Everything else is
# set with environment variables (sbatch exports the submitting shell's environment by default):
#
#   QRBM_BIN        solver binary                          [$QRBM_ROOT/bin/qrbm]
#   QRBM_OPTIONS    base options file                      [$QRBM_ROOT/inputs/tiny.opts]
#   QRBM_ARGS       extra solver options (word-split)      []
#   QRBM_NP         MPI ranks                              [$SLURM_NTASKS or 1]
#   QRBM_THREADS    threads per rank (-threads, OMP_NUM_THREADS) [$SLURM_CPUS_PER_TASK or 1]
#   QRBM_LOG_VIEW   write PETSc's -log_view table to this file []
#   QRBM_MPIRUN     MPI launcher                           [mpirun]
#   QRBM_MPIRUN_ARGS extra launcher options (word-split)   []
#   QRBM_DRY_RUN=1  print the solver command instead of running it
#
# Relative paths are taken relative to the job's working directory (the submit directory unless
# sbatch --chdir is given).

qrbm_log() { printf '[%s] %s\n' "$(date '+%F %T')" "$*"; }
qrbm_die() { # qrbm_die CODE MESSAGE...
  local code=$1
  shift
  qrbm_log "ERROR: $*" >&2
  exit "$code"
}

# Open MPI refuses to run as root without these (containers, test clusters).
if [ "$(id -u)" = 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

qrbm_abspath() { # absolute form of a path (need not exist yet)
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$PWD" "$1" ;;
  esac
}

QRBM_BIN=${QRBM_BIN:-$QRBM_ROOT/bin/qrbm}
QRBM_OPTIONS=${QRBM_OPTIONS:-$QRBM_ROOT/inputs/tiny.opts}
QRBM_NP=${QRBM_NP:-${SLURM_NTASKS:-1}}
QRBM_THREADS=${QRBM_THREADS:-${SLURM_CPUS_PER_TASK:-1}}
QRBM_MPIRUN=${QRBM_MPIRUN:-mpirun}
export OMP_NUM_THREADS=$QRBM_THREADS

qrbm_check_inputs() {
  [ -x "$QRBM_BIN" ] || qrbm_die 2 "solver $QRBM_BIN not found or not executable (build with make, or set QRBM_BIN/QRBM_ROOT)"
  [ -f "$QRBM_OPTIONS" ] || qrbm_die 2 "options file $QRBM_OPTIONS not found (set QRBM_OPTIONS)"
}

# qrbm_build_command [solver options...]: sets the array QRBM_CMD to the full launch command:
#   mpirun --oversubscribe -np NP [--bind-to none] BIN -options_file OPTS -threads T
#          [-log_view :FILE] $QRBM_ARGS "$@"
# Options after -options_file override the file's values.
qrbm_build_command() {
  local extra_mpi=() extra_args=()
  set -f # no globbing while word-splitting the user's option strings
  # shellcheck disable=SC2206
  extra_mpi=(${QRBM_MPIRUN_ARGS:-})
  # shellcheck disable=SC2206
  extra_args=(${QRBM_ARGS:-})
  set +f
  QRBM_CMD=("$QRBM_MPIRUN" --oversubscribe -np "$QRBM_NP")
  # threaded ranks must not be bound to a single core
  [ "$QRBM_THREADS" -gt 1 ] && QRBM_CMD+=(--bind-to none)
  QRBM_CMD+=("${extra_mpi[@]}" "$QRBM_BIN" -options_file "$QRBM_OPTIONS" -threads "$QRBM_THREADS")
  [ -n "${QRBM_LOG_VIEW:-}" ] && QRBM_CMD+=(-log_view ":$(qrbm_abspath "$QRBM_LOG_VIEW")")
  QRBM_CMD+=("${extra_args[@]}" "$@")
}

qrbm_print_header() {
  qrbm_log "job ${SLURM_JOB_ID:-(none)}${SLURM_ARRAY_TASK_ID:+ array task $SLURM_ARRAY_TASK_ID} on ${SLURM_JOB_NODELIST:-$(hostname -s)}:" \
    "$QRBM_NP rank(s) x $QRBM_THREADS thread(s), cwd $PWD"
  qrbm_log "command: ${QRBM_CMD[*]}"
}

# qrbm_run_forwarding CMD...: run CMD in the background and wait for it. SIGUSR1 and SIGTERM
# received by this (batch) shell are forwarded to CMD as SIGUSR1 (mpirun passes SIGUSR1 on to
# every rank; the solver then checkpoints at the next step boundary and exits with 75). Sets
# QRBM_RC to CMD's exit code and QRBM_SIGNALLED to the last signal received (USR1, TERM or empty).
QRBM_PID=
QRBM_SIGNALLED=
_qrbm_forward() {
  QRBM_SIGNALLED=$1
  if [ -n "$QRBM_PID" ]; then
    qrbm_log "received SIG$1: asking the solver (pid $QRBM_PID) to checkpoint and stop"
    kill -USR1 "$QRBM_PID" 2>/dev/null || true
  fi
}
qrbm_run_forwarding() {
  local rc r2
  QRBM_SIGNALLED=
  QRBM_PID=
  trap '_qrbm_forward USR1' USR1
  trap '_qrbm_forward TERM' TERM
  if [ "${QRBM_DRY_RUN:-0}" = 1 ]; then
    printf 'DRY RUN:'
    printf ' %q' "$@"
    printf '\n'
    QRBM_RC=0
    trap - USR1 TERM
    return 0
  fi
  "$@" &
  QRBM_PID=$!
  # a signal that arrived before the PID was known
  [ -n "$QRBM_SIGNALLED" ] && kill -USR1 "$QRBM_PID" 2>/dev/null
  while :; do
    wait "$QRBM_PID"
    rc=$?
    if [ "$rc" -gt 128 ]; then
      # wait was interrupted by a trapped signal (or the command died of one)
      if kill -0 "$QRBM_PID" 2>/dev/null; then continue; fi
      wait "$QRBM_PID" 2>/dev/null
      r2=$?
      [ "$r2" -ne 127 ] && rc=$r2
    fi
    break
  done
  trap - USR1 TERM
  QRBM_PID=
  QRBM_RC=$rc
  return "$rc"
}
