#!/bin/bash
# Weak scaling: the problem grows with the core count p = ranks x threads, one Slurm job per
# configuration (through jobs/strong_scaling.sh and jobs/single.sbatch), each with -log_view.
#
#   jobs/weak_scaling.sh [-m ensemble|grid] [-R N] [-g G] [-r "1 2 4"] [-t "1"] [-i OPTIONS_FILE]
#                        [-o DIR] [-x] [-S] [-w] [-a] [-n] [-- solver options...]
#
#   -m ensemble  (default) random batch ensemble: -method rbm -realizations N*p
#                -ranks_per_realization G: the work per core stays exactly the same
#   -m grid      one wave function on a grid grown with p: M = M0 * p^(1/(N d)) rounded to an even
#                number (M0, N, d from the options file), i.e. about p times the grid points
#   -R N         realisations per core in ensemble mode                            [1]
#   -g G         ranks per realisation in ensemble mode (must divide every rank count) [1]
#   other flags: as jobs/strong_scaling.sh (-r rank counts, -t threads per rank, -i options file,
#                -o output directory [scaling/weak-<date>-<time>], -x no --exclusive, -S one job
#                at a time, -w wait, -a analysis job, -n dry run)
#
# Writes DIR/r<R>_t<T>.{h5,log_view,out} and DIR/runs.tsv (with the problem options of each run);
# tools/scaling.py DIR then reports the weak-scaling efficiency T(1)/T(p), normalised by the work
# per core when the grid cannot grow exactly by p. Documentation: docs/jobs.md.
set -u
here=$(cd "$(dirname "$0")" && pwd)

# --- internal: print the problem options for RANKS THREADS (called by strong_scaling.sh)
if [ "${1:-}" = --problem ]; then
  r=$2 t=$3
  p=$((r * t))
  case ${QRBM_WEAK_MODE:-ensemble} in
    ensemble)
      n=${QRBM_WEAK_PER_CORE:-1} g=${QRBM_WEAK_GROUP:-1}
      if [ $((r % g)) -ne 0 ]; then
        echo "weak_scaling: -g $g does not divide $r ranks" >&2
        exit 2
      fi
      echo "-method rbm -realizations $((n * p)) -ranks_per_realization $g"
      ;;
    grid)
      # read -grid, -particles, -dim from the options file (defaults as in bin/qrbm -help)
      read -r m0 np d < <(awk '$1=="-grid"{m=$2} $1=="-particles"{n=$2} $1=="-dim"{d=$2}
        END{print (m?m:64), (n?n:2), (d?d:1)}' "$QRBM_WEAK_OPTIONS")
      m=$(awk -v m0="$m0" -v p="$p" -v nd="$((np * d))" 'BEGIN{m=m0*exp(log(p)/nd); m=2*int(m/2+0.5); if(m<2)m=2; print m}')
      echo "-grid $m"
      ;;
    *)
      echo "weak_scaling: unknown mode ${QRBM_WEAK_MODE}" >&2
      exit 2
      ;;
  esac
  exit 0
fi

mode=ensemble per_core=1 group=1
pass=()
opts=${QRBM_OPTIONS:-$(dirname "$here")/inputs/tiny.opts}
usage() { sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while getopts "m:R:g:r:t:i:o:xSwanh" opt; do
  case $opt in
    m) mode=$OPTARG ;;
    R) per_core=$OPTARG ;;
    g) group=$OPTARG ;;
    i) opts=$OPTARG; pass+=(-i "$OPTARG") ;;
    r | t | o) pass+=("-$opt" "$OPTARG") ;;
    x | S | w | a | n) pass+=("-$opt") ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
case $mode in ensemble | grid) ;; *) echo "$0: -m must be ensemble or grid" >&2; exit 2 ;; esac
[ -f "$opts" ] || { echo "$0: options file $opts not found" >&2; exit 2; }
export QRBM_WEAK_MODE=$mode QRBM_WEAK_PER_CORE=$per_core QRBM_WEAK_GROUP=$group QRBM_WEAK_OPTIONS=$opts
export QRBM_SCALING_KIND=weak QRBM_SCALING_PROBLEM_CMD="$here/weak_scaling.sh --problem"
exec "$here/strong_scaling.sh" "${pass[@]}" -- "$@"
