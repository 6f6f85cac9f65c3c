#!/usr/bin/env bash
# Performance figures, measured in one run on this machine:
#   - utilization (ideal cycles / RTL cycles) on a suite of layer shapes, WS and OS,
#     and the cycle model's error (BenchmarkGEMMSuite)
#   - simulated cycles per second in Verilator (8x8, 16x16) and Icarus (8x8), against
#     the hand-written baseline array driven through the same harness (BenchmarkSimSpeed)
#   - stimulus-free simulated cycles per second (Verilator and Icarus, 8x8 and 16x16) of
#     the default configuration with either multiply-accumulate form against the
#     hand-written array, both in the FPGA flow's pin-light wrapper (BenchmarkStimulusFree)
#   - Yosys figures of the default configuration against the baseline (scripts/synth.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== go test -bench (verify) =="
go test -run '^$' -bench 'GEMMSuite|SimSpeed' -benchtime 1x ./verify/ | grep -E '^(Benchmark|ok|FAIL)'
echo
echo "== go test -bench (fpga: stimulus-free simulation speed) =="
go test -run '^$' -bench 'StimulusFree$' -benchtime 1x ./fpga/ | grep -E '^(Benchmark|ok|FAIL)'
echo
echo "== go test -bench (quant) =="
go test -run '^$' -bench 'Conv2D|Requantize' ./quant/ | grep -E '^(Benchmark|ok|FAIL)'
echo
echo "== Yosys (rtl-out/default: split multiply-accumulate) =="
bash scripts/synth.sh rtl-out/default
echo
echo "== Yosys (the default with \"mac\": \"fused\") =="
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed 's/"name": "default"/"name": "fused", "mac": "fused"/' configs/default.json >"$tmp/fused.json"
go run ./cmd/tpugen rtl -config "$tmp/fused.json" -out "$tmp/rtl" >/dev/null
bash scripts/synth.sh "$tmp/rtl"
echo
echo "== sparsity: the pruned LeNets on the default RTL (Verilator, 1000 images) into docs/sparsity =="
go run ./cmd/tpugen sparsity -n 1000 -out docs/sparsity
