#!/usr/bin/env bash
# Mutation cover (make mutate): tpugen mutate on the default and the small
# configuration, MUTATE_N mutations (default 28) of every block of each, every
# mutant built in Verilator and run through the regression; the report goes
# to standard output and, as JSON, to MUTATE_JSON (default
# mutation-report.json in the temporary directory, whose path is printed).
# Results are cached by the mutant's hash (tpugen mutate -h), so a second
# run only simulates what changed. The PE, the array and the requantizer
# must have no survivor (exit 1 otherwise). MUTATE_JOBS sets the mutants run
# at once (default 2). When ccache is installed, Verilator's builds use it:
# the runtime library compiles once instead of once per mutant.
set -euo pipefail
cd "$(dirname "$0")/.."

TPUGEN=${TPUGEN:-bin/tpugen}
if [ ! -x "$TPUGEN" ]; then
	echo "mutate: $TPUGEN not found: run make build" >&2
	exit 1
fi
if [ -z "${OBJCACHE:-}" ] && command -v ccache >/dev/null; then
	export OBJCACHE=ccache
fi
json=${MUTATE_JSON:-${TMPDIR:-/tmp}/mutation-report.json}
echo "mutate: JSON report in $json" >&2
exec "$TPUGEN" mutate -config configs/default.json -config configs/small.json \
	-n "${MUTATE_N:-28}" -j "${MUTATE_JOBS:-2}" -prove-timeout 10s -json "$json" -require pe,array,requant "$@"
