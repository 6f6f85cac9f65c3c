#!/usr/bin/env bash
# Stall soak (make soak): tpugen soak runs GEMMs and quantized layers through
# the default matrix unit with its whole pipeline in one Verilator session,
# with random valid on every input stream and random ready on every output
# stream, until SOAK_N beats have transferred (default 4,000,000: more than
# a million result beats), every run checked bit for bit against the golden
# model. SOAK_SEED picks the stimulus; a failing run prints the command that
# reruns it alone. Extra arguments go to tpugen soak (e.g. -config FILE).
set -euo pipefail
cd "$(dirname "$0")/.."

TPUGEN=${TPUGEN:-bin/tpugen}
if [ ! -x "$TPUGEN" ]; then
	echo "soak: $TPUGEN not found: run make build" >&2
	exit 1
fi
exec "$TPUGEN" soak -n "${SOAK_N:-4000000}" -seed "${SOAK_SEED:-1}" "$@"
