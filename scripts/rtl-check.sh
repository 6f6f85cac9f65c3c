#!/usr/bin/env bash
# Checks that the committed RTL in rtl-out/ is what the generator produces
# today: every configs/<name>.json is regenerated into a temporary directory
# with bin/tpugen and compared byte for byte with rtl-out/<name>. Generation
# is deterministic, so any difference means rtl-out/ is stale.
set -euo pipefail
cd "$(dirname "$0")/.."

TPUGEN=${TPUGEN:-bin/tpugen}
if [ ! -x "$TPUGEN" ]; then
	echo "rtl-check: $TPUGEN not found: run make build" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

status=0
for config in configs/*.json; do
	name=$(basename "$config" .json)
	if ! "$TPUGEN" rtl -config "$config" -out "$tmp/$name" >/dev/null; then
		echo "rtl-check: $config does not generate" >&2
		status=1
		continue
	fi
	if [ ! -d "rtl-out/$name" ]; then
		echo "rtl-out/$name is stale: run make rtl (the directory is missing)" >&2
		status=1
	elif ! diff -r "$tmp/$name" "rtl-out/$name" >"$tmp/$name.diff"; then
		head -n 20 "$tmp/$name.diff" >&2
		echo "rtl-out/$name is stale: run make rtl" >&2
		status=1
	fi
done
for dir in rtl-out/*/; do
	[ -d "$dir" ] || continue
	name=$(basename "$dir")
	if [ ! -f "configs/$name.json" ]; then
		echo "rtl-out/$name has no configs/$name.json: remove it, or add the configuration" >&2
		status=1
	fi
done
if [ "$status" -eq 0 ]; then
	echo "rtl-check: rtl-out/ matches the generator for $(ls configs/*.json | wc -l) configurations"
fi
exit "$status"
