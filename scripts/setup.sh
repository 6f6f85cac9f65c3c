#!/usr/bin/env bash
# Installs the simulators and synthesis tool tpugen drives (Icarus Verilog,
# Verilator, Yosys), the ONNX backend node tests and Fashion-MNIST when they
# are missing. Safe to run repeatedly.
set -euo pipefail

missing=()
for tool in iverilog:iverilog vvp:iverilog verilator:verilator yosys:yosys nextpnr-ice40:nextpnr-ice40 icepack:fpga-icestorm; do
	bin=${tool%%:*}
	pkg=${tool##*:}
	if ! command -v "$bin" >/dev/null 2>&1; then
		case " ${missing[*]-} " in *" $pkg "*) ;; *) missing+=("$pkg") ;; esac
	fi
done
[ -d /usr/share/libonnx-testdata/data/node ] || missing+=(libonnx-testdata) # nn's ONNX conformance tests
[ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist) # the Fashion-MNIST model's data

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

echo "setup: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		SUDO=sudo
	else
		echo "setup: ${missing[*]} missing and not root; run: sudo apt-get install -y ${missing[*]}" >&2
		exit 1
	fi
else
	SUDO=
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "setup: no apt-get on this machine; install ${missing[*]} with your package manager" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
for bin in iverilog vvp verilator yosys nextpnr-ice40 icepack; do
	command -v "$bin" >/dev/null 2>&1 || { echo "setup: $bin still missing after install" >&2; exit 1; }
done
echo "setup: done ($(verilator --version | head -1); $(iverilog -V 2>/dev/null | head -1); $(yosys -V))" >&2
