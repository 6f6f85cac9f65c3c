#!/usr/bin/env bash
# Lints generated RTL with the real tools: every rtl-out/<name>, plus a
# 64x64 weight-stationary and a 1x1 output-stationary configuration
# generated into a temporary directory (the size range the generator
# promises). In each directory, for the top module its manifest names:
#   verilator --lint-only -Wall   must print nothing;
#   iverilog -g2005               must compile it;
#   yosys synth (coarse); check -assert  must pass, print nothing and leave
#                                 no latch. The coarse part of synth (up to
#                                 the fine label) is where processes become
#                                 logic and latches would appear; stopping
#                                 there keeps memories as memories instead
#                                 of hundreds of thousands of flip-flops.
# Directories are linted in parallel (LINT_JOBS, default: the CPU count);
# each one's log is printed when it fails.
set -euo pipefail
cd "$(dirname "$0")/.."

TPUGEN=${TPUGEN:-bin/tpugen}
for tool in verilator iverilog yosys; do
	command -v "$tool" >/dev/null 2>&1 || { echo "lint-rtl: $tool not found in PATH: run scripts/setup.sh" >&2; exit 1; }
done
if [ ! -x "$TPUGEN" ]; then
	echo "lint-rtl: $TPUGEN not found: run make build" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The extremes of the size range. acc_depth is kept small: Yosys maps the
# accumulator memory to flip-flops, and its size says nothing about lint.
cat >"$tmp/lint_64x64_ws.json" <<'JSON'
{"name": "lint_64x64_ws", "rows": 64, "cols": 64, "dataflow": "ws", "acc_depth": 16}
JSON
cat >"$tmp/lint_1x1_os.json" <<'JSON'
{"name": "lint_1x1_os", "rows": 1, "cols": 1, "dataflow": "os", "acc_depth": 2}
JSON
dirs=()
for d in rtl-out/*/; do
	[ -f "$d/files.f" ] && dirs+=("${d%/}")
done
for c in "$tmp"/lint_*.json; do
	name=$(basename "$c" .json)
	"$TPUGEN" rtl -config "$c" -out "$tmp/rtl/$name" >/dev/null
	dirs+=("$tmp/rtl/$name")
done
if [ ${#dirs[@]} -eq 0 ]; then
	echo "lint-rtl: nothing to lint: run make rtl" >&2
	exit 1
fi

# lint_dir DIR LOG: lints one RTL directory, explaining failures in LOG.
lint_dir() {
	local dir=$1 log=$2 stat=$2.stat out files TOP
	files=$(tr '\n' ' ' <"$dir/files.f")
	# The top module is the manifest's (tpu_mxu, or tpu_core around it).
	TOP=$(grep -o '"top": *"[A-Za-z0-9_]*"' "$dir/manifest.json" | head -n 1 | sed 's/.*"\([A-Za-z0-9_]*\)"$/\1/')
	if [ -z "$TOP" ]; then
		printf 'no top module in %s/manifest.json\n' "$dir" >"$log"
		return 1
	fi
	if ! out=$(cd "$dir" && verilator --lint-only -Wall --top-module "$TOP" -f files.f 2>&1) || [ -n "$out" ]; then
		printf 'verilator --lint-only -Wall:\n%s\n' "$out" >"$log"
		return 1
	fi
	if ! out=$(cd "$dir" && iverilog -g2005 -o /dev/null -s "$TOP" $files 2>&1) || [ -n "$out" ]; then
		printf 'iverilog -g2005:\n%s\n' "$out" >"$log"
		return 1
	fi
	if ! out=$(cd "$dir" && yosys -q -p "read_verilog $files; synth -top $TOP -run begin:fine; check -assert; tee -q -o $stat stat" 2>&1) || [ -n "$out" ]; then
		printf 'yosys synth; check -assert:\n%s\n' "$(tail -n 30 <<<"$out")" >"$log"
		return 1
	fi
	local latches
	latches=$(grep -E '\$(_DLATCH|_SR_|dlatch|adlatch|sr )' "$stat" || true)
	if [ -n "$latches" ]; then
		printf 'yosys synth: latch cells:\n%s\n' "$latches" >"$log"
		return 1
	fi
}

jobs_max=${LINT_JOBS:-$(nproc 2>/dev/null || echo 2)}
pids=()
names=()
status=0
# wait_one waits for the oldest running job and reports it.
wait_one() {
	local pid=${pids[0]} name=${names[0]}
	pids=("${pids[@]:1}")
	names=("${names[@]:1}")
	if wait "$pid"; then
		echo "lint-rtl: $name: ok"
	else
		echo "lint-rtl: $name: FAILED" >&2
		cat "$tmp/$(basename "$name").log" >&2
		status=1
	fi
}
for dir in "${dirs[@]}"; do
	name=${dir#"$tmp/rtl/"}
	[ "${#pids[@]}" -lt "$jobs_max" ] || wait_one
	lint_dir "$dir" "$tmp/$(basename "$dir").log" &
	pids+=("$!")
	names+=("$name")
done
while [ "${#pids[@]}" -gt 0 ]; do
	wait_one
done
exit "$status"
