#!/usr/bin/env bash
# Mutation cover (make mutate): tpugen mutate on the default and the small
# configuration, MUTATE_N mutations (default 28) of every block of each, then
# MUTATE_CORE_N (default 28) of the core's controller, every mutant built in
# Verilator and run through the regression; the reports go to standard
# output and, as JSON, to MUTATE_JSON (default mutation-report.json in the
# temporary directory, whose path is printed) and the same name with -core.
# Results are cached by the mutant's hash (tpugen mutate -h), so a second
# run only simulates what changed. The PE, the array and the requantizer
# must have no survivor (exit 1 otherwise); a survivor argued equivalent in
# docs/mutation/argued.json is not one. MUTATE_JOBS sets the mutants run
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
core_json=${json%.json}-core.json
echo "mutate: JSON reports in $json and $core_json" >&2
# Survivors whose equivalence no solver proves within its time, each with
# the written argument that it changes nothing observable (tpugen mutate -h).
argued=docs/mutation/argued.json
status=0
"$TPUGEN" mutate -config configs/default.json -config configs/small.json \
	-n "${MUTATE_N:-28}" -j "${MUTATE_JOBS:-2}" -prove-timeout 10s -json "$json" -argued "$argued" -require pe,array,requant "$@" || status=$?
# The core's controller (tpu_core: fetch, decode, the instruction
# sequencers, the register file): each mutant is run through the core
# regression (directed faults, random programs, layers, convolutions).
"$TPUGEN" mutate -config configs/core.json -blocks controller \
	-n "${MUTATE_CORE_N:-28}" -j "${MUTATE_JOBS:-2}" -prove-timeout 10s -json "$core_json" -argued "$argued" "$@" || status=$((status ? status : $?))
exit "$status"
