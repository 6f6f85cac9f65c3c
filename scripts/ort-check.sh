#!/usr/bin/env bash
# The float-scale requantizer (rounding "float") checked bit for bit against
# ONNX Runtime: the committed QDQ models and synthetic QLinearConv and
# QLinearMatMul models run on ONNX Runtime and on tpugen's golden model (and
# the first images on the RTL of configs/lowprec.json), every int8 output
# compared. Needs npm and a C compiler (cgo); ONNX Runtime comes from the npm
# package onnxruntime-node, which ships libonnxruntime.so for linux-x64,
# installed once into a cache directory.
#
#   scripts/ort-check.sh                 ORT_IMAGES (default 1000) images per model
#   ORT_IMAGES=100 ORT_RTL_IMAGES=2 scripts/ort-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
ORT_IMAGES=${ORT_IMAGES:-1000}
ORT_RTL_IMAGES=${ORT_RTL_IMAGES:-4}
ORT_CACHE=${ORT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tpugen/ort}

lib="$ORT_CACHE/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"
if [ ! -f "$lib" ]; then
	if ! command -v npm >/dev/null; then
		echo "ort-check: npm is needed to install onnxruntime-node (apt-get install npm)" >&2
		exit 2
	fi
	echo "ort-check: installing onnxruntime-node into $ORT_CACHE" >&2
	mkdir -p "$ORT_CACHE"
	# The package's install step would otherwise fetch GPU files.
	(cd "$ORT_CACHE" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund onnxruntime-node >&2)
fi
if [ ! -f "$lib" ]; then
	echo "ort-check: $lib is missing after the install (not linux-x64?)" >&2
	exit 2
fi

export TPUGEN_ORT_LIB="$lib"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
CGO_ENABLED=1 nice -n 10 "$GO" test -tags ort -count=1 -timeout 60m ./verify/ort/ -v \
	-ort-images "$ORT_IMAGES" -ort-rtl-images "$ORT_RTL_IMAGES" >"$log" 2>&1 || status=$?
grep -E '^(\s*--- |PASS|FAIL|ok )|values compared|synthetic' "$log" || true
if [ "$status" -ne 0 ]; then
	echo "ort-check: failed; the end of the log:" >&2
	tail -n 40 "$log" >&2
fi
exit "$status"
