#!/usr/bin/env bash
# Bounded native fuzzing of every parser a user feeds: runs each Go fuzz
# target (func FuzzXxx in a *_test.go file) for FUZZTIME, one after the
# other, and reports which failed. A failing input is saved by go test as
# <pkg>/testdata/fuzz/FuzzXxx/<hash>: fix the parser, keep the file (it is
# then a regression seed that plain go test runs) and commit both.
#
#   scripts/fuzz.sh                      every target, FUZZTIME each (default 30s)
#   scripts/fuzz.sh Config Matrix        only targets whose name matches a pattern
#   FUZZTIME=5m FUZZPARALLEL=2 scripts/fuzz.sh
#   FUZZLIST=1 scripts/fuzz.sh           list the targets and exit
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-30s}
# Fuzz workers; the default leaves a core free on small machines.
FUZZPARALLEL=${FUZZPARALLEL:-$(( $(nproc) > 1 ? $(nproc) - 1 : 1 ))}

# "<package dir> <target>" per fuzz target, sorted so runs are repeatable.
targets=$(grep -rHo --include='*_test.go' --exclude-dir=rtl-out --exclude-dir=.git \
	'^func Fuzz[A-Za-z0-9_]*(' . | sed -E 's|^\./(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\($|\1 \2|' | sort -u)
if [ $# -gt 0 ]; then
	pattern=$(IFS='|'; echo "$*")
	targets=$(echo "$targets" | grep -E " Fuzz.*($pattern)" || true)
fi
if [ -z "$targets" ]; then
	echo "fuzz: no fuzz targets match $*" >&2
	exit 2
fi
if [ -n "${FUZZLIST:-}" ]; then
	echo "$targets"
	exit 0
fi

n=$(echo "$targets" | wc -l)
echo "fuzz: $n targets, $FUZZTIME each, $FUZZPARALLEL workers"
failed=()
while read -r dir target; do
	echo "fuzz: ./$dir $target"
	if ! "$GO" test "./$dir" -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -parallel "$FUZZPARALLEL"; then
		failed+=("./$dir $target")
	fi
done <<<"$targets"

if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: ${#failed[@]} of $n targets failed:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	echo "fuzz: the failing inputs are in <pkg>/testdata/fuzz/<target>/; rerun one with go test ./<pkg> -run '<target>/<file>'" >&2
	exit 1
fi
echo "fuzz: $n targets, no failures"
