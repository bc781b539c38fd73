#!/bin/bash
# Strong scaling: the same problem at 1, 2, 4, ... ranks (and/or threads per rank), one Slurm job
# per configuration (jobs/single.sbatch), each writing PETSc's -log_view table to its own file.
#
#   jobs/strong_scaling.sh [-r "1 2 4"] [-t "1"] [-i OPTIONS_FILE] [-o DIR] [-x] [-S] [-w] [-a] [-n]
#                          [-- solver options...]
#
#   -r LIST   rank counts                                    ["1 2 4"]
#   -t LIST   threads per rank (every rank count x every thread count)   ["1"]
#   -i FILE   base options file                              [$QRBM_OPTIONS or inputs/tiny.opts]
#   -o DIR    output directory                               [scaling/strong-<date>-<time>]
#   -x        do not ask for whole nodes (default: sbatch --exclusive, so that runs do not share
#             a node's cores or memory bandwidth)
#   -S        run the jobs one after another (--dependency=singleton), e.g. on one shared node
#   -w        wait until every job has ended; exit 1 if any run wrote no -log_view file
#   -a        also submit an analysis job (after all runs) that calls tools/scaling.py
#             (python: $QRBM_PYTHON, default /usr/bin/python3)
#   -n        dry run: print the sbatch commands only
# Further sbatch options: QRBM_SCALING_SBATCH_ARGS (word-split), e.g. "--time=02:00:00 -p big".
#
# Writes into DIR: r<R>_t<T>.{h5,log_view,out} per run and runs.tsv (job id, ranks, threads,
# files). Afterwards: /usr/bin/python3 tools/scaling.py DIR  -> DIR/scaling.csv, DIR/scaling.png.
# Documentation: docs/jobs.md.
set -u
here=$(cd "$(dirname "$0")" && pwd)
QRBM_ROOT=${QRBM_ROOT:-$(dirname "$here")}
export QRBM_ROOT

kind=${QRBM_SCALING_KIND:-strong}
ranks="1 2 4"
threads="1"
opts=${QRBM_OPTIONS:-$QRBM_ROOT/inputs/tiny.opts}
outdir=
exclusive=1
serial=0
wait_all=0
analyze=0
dry=0
usage() { sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while getopts "r:t:i:o:xSwanh" opt; do
  case $opt in
    r) ranks=$OPTARG ;;
    t) threads=$OPTARG ;;
    i) opts=$OPTARG ;;
    o) outdir=$OPTARG ;;
    x) exclusive=0 ;;
    S) serial=1 ;;
    w) wait_all=1 ;;
    a) analyze=1 ;;
    n) dry=1 ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ "${1:-}" = -- ] && shift
[ -f "$opts" ] || { echo "$0: options file $opts not found" >&2; exit 2; }
case $opts in /*) ;; *) opts=$PWD/$opts ;; esac
outdir=${outdir:-scaling/$kind-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

set -f
# shellcheck disable=SC2206
extra_sbatch=(${QRBM_SCALING_SBATCH_ARGS:-})
set +f

# per-run problem options: a weak-scaling driver sets QRBM_SCALING_PROBLEM_CMD to a command that
# prints the solver options for "RANKS THREADS" (see jobs/weak_scaling.sh)
manifest=$outdir/runs.tsv
[ "$dry" = 1 ] || printf 'job\tranks\tthreads\tlog_view\toutput\tproblem_options\n' >"$manifest"
jobs=()
for r in $ranks; do
  for t in $threads; do
    case "$r$t" in *[!0-9]*) echo "$0: rank and thread counts must be numbers" >&2; exit 2 ;; esac
    tag=r${r}_t${t}
    problem=()
    if [ -n "${QRBM_SCALING_PROBLEM_CMD:-}" ]; then
      # shellcheck disable=SC2207
      problem=($($QRBM_SCALING_PROBLEM_CMD "$r" "$t")) || { echo "$0: problem command failed for $tag" >&2; exit 2; }
    fi
    sb=(--job-name="qrbm-$kind" --ntasks="$r" --cpus-per-task="$t" --output="$outdir/$tag.out")
    [ "$exclusive" = 1 ] && sb+=(--exclusive)
    [ "$serial" = 1 ] && sb+=(--dependency=singleton)
    sb+=("${extra_sbatch[@]}"
      --export="ALL,QRBM_ROOT=$QRBM_ROOT,QRBM_OPTIONS=$opts,QRBM_OUTPUT=$outdir/$tag.h5,QRBM_LOG_VIEW=$outdir/$tag.log_view,QRBM_NP=$r,QRBM_THREADS=$t")
    cmd=(sbatch --parsable "${sb[@]}" "$QRBM_ROOT/jobs/single.sbatch" "${problem[@]}" "$@")
    if [ "$dry" = 1 ]; then
      printf '%q ' "${cmd[@]}"
      printf '\n'
      continue
    fi
    jid=$("${cmd[@]}") || { echo "$0: sbatch failed for $tag" >&2; exit 1; }
    jid=${jid%%;*}
    jobs+=("$jid")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$jid" "$r" "$t" "$outdir/$tag.log_view" "$outdir/$tag.h5" "${problem[*]}" >>"$manifest"
    echo "submitted $tag: job $jid"
  done
done
[ "$dry" = 1 ] && exit 0

# the analysis job runs after every run has ended
if [ "$analyze" = 1 ]; then
  py=${QRBM_PYTHON:-/usr/bin/python3}
  ajid=$(sbatch --parsable --job-name="qrbm-$kind-analysis" --ntasks=1 --output="$outdir/analysis.out" \
    "--dependency=afterany:$(IFS=:; echo "${jobs[*]}")" \
    --wrap="$py $QRBM_ROOT/tools/scaling.py --kind $kind -o $outdir/scaling.csv --plot $outdir/scaling.png $outdir") ||
    { echo "$0: could not submit the analysis job" >&2; exit 1; }
  ajid=${ajid%%;*}
  jobs+=("$ajid")
  echo "submitted analysis: job $ajid (writes $outdir/scaling.csv and scaling.png)"
fi
if [ "$wait_all" = 1 ]; then
  echo "waiting for jobs ${jobs[*]}"
  ids=$(IFS=,; echo "${jobs[*]}")
  while squeue -h -j "$ids" -o %i 2>/dev/null | grep -q .; do
    sleep "${QRBM_SCALING_POLL:-2}"
  done
fi
echo "runs listed in $manifest"
if [ "$wait_all" = 1 ]; then
  failed=0
  for r in $ranks; do
    for t in $threads; do
      [ -s "$outdir/r${r}_t${t}.log_view" ] || { echo "run r${r}_t${t} failed: see $outdir/r${r}_t${t}.out" >&2; failed=1; }
    done
  done
  exit "$failed"
fi
exit 0
