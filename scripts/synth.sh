#!/usr/bin/env bash
# Quality-of-results figures for generated RTL, beside the hand-written
# baseline array of the same size synthesized in the same run:
#   - Yosys generic `synth -flatten`: cells per PE (array, skew/deskew and
#     control; the accumulator memory and pipeline stages are blackboxed)
#   - `synth_ice40 -dsp`: SB_LUT4, flip-flops and SB_MAC16 per PE
#   - the requantizer per lane, when the configuration has one
# Usage: scripts/synth.sh [RTL_DIR]   (default rtl-out/default)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-rtl-out/default}
[ -f "$dir/manifest.json" ] || { echo "synth: $dir has no manifest.json (run make rtl)" >&2; exit 2; }
command -v yosys >/dev/null || { echo "synth: yosys not found: run scripts/setup.sh" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rows=$(sed -n 's/.*"rows": \([0-9]*\).*/\1/p' "$dir/manifest.json" | head -1)
cols=$(sed -n 's/.*"cols": \([0-9]*\).*/\1/p' "$dir/manifest.json" | head -1)
pes=$((rows * cols))
files=$(sed "s|^|$dir/|" "$dir/files.f" | tr '\n' ' ')
# Everything but the array itself is blackboxed for the per-PE figures.
boxes=$(sed -n 's/\.v$//p' "$dir/files.f" | grep -v -E '^(pe_|tpu_mxu$)' | tr '\n' ' ')

stat_of() { # log -> "cells luts ffs macs carries" of the first module's stat
	awk '/^=== / {n++} n == 1 && /Number of cells/ {c=$4} n == 1 && /SB_LUT4/ {l+=$2}
		n == 1 && /SB_DFF/ {f+=$2} n == 1 && /SB_MAC16/ {m+=$2} n == 1 && /SB_CARRY/ {k+=$2}
		END {printf "%d %d %d %d %d\n", c, l, f, m, k}' "$1"
}
run() { # name script
	yosys -q -l "$work/$1.log" -p "$2" >/dev/null 2>&1 || { echo "synth: yosys failed for $1 (log: $work/$1.log)" >&2; tail -5 "$work/$1.log" >&2; exit 1; }
}

bb=""
[ -n "$boxes" ] && bb="blackbox $boxes;"
nboxes=$(echo $boxes | wc -w)
run gen_generic "read_verilog $files; hierarchy -top tpu_mxu; $bb synth -flatten -top tpu_mxu; stat"
run gen_ice40 "read_verilog $files; hierarchy -top tpu_mxu; $bb synth_ice40 -dsp -top tpu_mxu; stat"
run base_generic "read_verilog scripts/baseline/ws_array.v; chparam -set N $rows ws_array; synth -flatten -top ws_array; stat"
run base_ice40 "read_verilog scripts/baseline/ws_array.v; chparam -set N $rows ws_array; synth_ice40 -dsp -top ws_array; stat"

read -r gc _ _ _ _ < <(stat_of "$work/gen_generic.log")
read -r _ gl gf gm gk < <(stat_of "$work/gen_ice40.log")
read -r bc _ _ _ _ < <(stat_of "$work/base_generic.log")
read -r _ bl bf bm bk < <(stat_of "$work/base_ice40.log")
gc=$((gc - nboxes))
per() { awk -v a="$1" -v n="$2" 'BEGIN {printf "%.1f", a / n}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'; }

echo "Yosys $(yosys -V | awk '{print $2}'), ${rows}x${cols} ($dir), per PE; ratio = tpugen / hand-written baseline"
echo
echo "| measure | tpugen | hand-written | ratio |"
echo "|---|---|---|---|"
echo "| generic synth -flatten cells / PE | $(per $gc $pes) | $(per $bc $pes) | $(ratio $gc $bc) |"
echo "| synth_ice40 -dsp SB_LUT4 / PE | $(per $gl $pes) | $(per $bl $pes) | $(ratio $gl $bl) |"
echo "| synth_ice40 -dsp flip-flops / PE | $(per $gf $pes) | $(per $bf $pes) | $(ratio $gf $bf) |"
echo "| synth_ice40 -dsp SB_MAC16 / PE | $(per $gm $pes) | $(per $bm $pes) | $(ratio $gm $bm) |"
echo "| synth_ice40 -dsp SB_CARRY / PE | $(per $gk $pes) | $(per $bk $pes) | $(ratio $gk $bk) |"

rq=$(sed -n 's/\.v$//p' "$dir/files.f" | grep '^requant_' | head -1 || true)
if [ -n "$rq" ]; then
	run rq_generic "read_verilog $dir/$rq.v; synth -flatten -top $rq; stat"
	run rq_ice40 "read_verilog $dir/$rq.v; synth_ice40 -dsp -top $rq; stat"
	read -r rc _ _ _ _ < <(stat_of "$work/rq_generic.log")
	read -r _ rl rf rm _ < <(stat_of "$work/rq_ice40.log")
	echo
	echo "Requantizer ($rq), per lane of $cols (parameter sets in memories, mapped to flip-flops by generic synth):"
	echo
	echo "| measure | per lane |"
	echo "|---|---|"
	echo "| generic synth -flatten cells | $(per $rc $cols) |"
	echo "| synth_ice40 -dsp SB_MAC16 | $(per $rm $cols) |"
	echo "| synth_ice40 -dsp SB_LUT4 | $(per $rl $cols) |"
	echo "| synth_ice40 -dsp flip-flops | $(per $rf $cols) |"
fi
