#!/usr/bin/env bash
# Area of one processing element of the binary (mac "xnor"), int4 and int8
# units, measured by Yosys in one run: the PE of rows 2..N (the one with a
# sum input) of rtl-out/binary, rtl-out/int4 and rtl-out/default,
# synthesized alone with Yosys' generic `synth -flatten` (cells) and with
# `synth_ice40` (LUTs, carries, flip-flops; no DSP); then the whole array
# (tpu_mxu with its skew, deskew and control; the accumulator memory and
# the pipeline blackboxed) in generic cells per PE, as DESIGN.md's figures
# are taken. A binary PE holds 8 binary MACs (one lane), an int PE one MAC.
# About 5 CPU-minutes.
#
#   scripts/lowbit-area.sh    (after make rtl)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v yosys >/dev/null 2>&1 || { echo "lowbit-area: yosys not found: run scripts/setup.sh" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# pe DIR: the non-top weight-stationary PE file of rtl-out/DIR.
pe() {
	local f
	f=$(ls rtl-out/"$1"/pe_ws_*.v | grep -v '_top\.v$' | head -1)
	[ -n "$f" ] || { echo "lowbit-area: no PE in rtl-out/$1 (run make rtl)" >&2; exit 1; }
	echo "$f"
}

count() { # LOG PATTERN: the number after the last stat line matching PATTERN
	awk -v p="$2" '$0 ~ p { n = $NF } END { print n + 0 }' "$1"
}

printf "%-8s %-24s %8s %10s %12s %9s %15s %8s\n" unit "PE module" cells "ice40 LUT" "ice40 carry" "ice40 FF" "array cells/PE" "MACs/PE"
for unit in default int4 binary; do
	f=$(pe "$unit")
	m=$(basename "$f" .v)
	yosys -q -p "read_verilog $f; synth -flatten -top $m; tee -q -o $tmp/$unit.generic.log stat" >/dev/null
	yosys -q -p "read_verilog $f; synth_ice40 -top $m; tee -q -o $tmp/$unit.ice40.log stat" >/dev/null
	cells=$(count "$tmp/$unit.generic.log" "Number of cells:")
	luts=$(count "$tmp/$unit.ice40.log" "SB_LUT4")
	carries=$(count "$tmp/$unit.ice40.log" "SB_CARRY")
	ffs=$(awk '/SB_DFF/ { n += $NF } END { print n + 0 }' "$tmp/$unit.ice40.log")
	macs=1
	if grep -q '"mac": "xnor"' rtl-out/"$unit"/manifest.json; then
		macs=$(awk -F': ' '/"input_bits"/ { gsub(/,/, "", $2); print $2; exit }' rtl-out/"$unit"/manifest.json)
	fi
	boxes=$(grep -v '^#' rtl-out/"$unit"/files.f | sed 's/\.v$//' | grep -v -e '^pe_' -e '^tpu_mxu$' | tr '\n' ' ')
	files=$(grep -v '^#' rtl-out/"$unit"/files.f | sed "s|^|rtl-out/$unit/|" | tr '\n' ' ')
	yosys -q -p "read_verilog $files; hierarchy -top tpu_mxu; blackbox $boxes; synth -flatten -top tpu_mxu; tee -q -o $tmp/$unit.array.log stat" >/dev/null
	pes=$(awk -F': ' '/"rows"|"cols"/ { gsub(/,/, "", $2); p = p ? p * $2 : $2 } END { print p }' <(grep -m2 -E '"(rows|cols)"' rtl-out/"$unit"/manifest.json))
	array=$(awk -v n="$pes" '/Number of cells:/ { c = $NF } END { printf "%.1f", c / n }' "$tmp/$unit.array.log")
	printf "%-8s %-24s %8s %10s %12s %9s %15s %8s\n" "$unit" "$m" "$cells" "$luts" "$carries" "$ffs" "$array" "$macs"
done
