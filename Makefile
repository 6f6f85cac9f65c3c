# tpugen — see README.md. Every target that needs simulators runs setup first,
# which installs iverilog, verilator and yosys when they are missing.
GO        ?= go
CONFIGS   := $(wildcard configs/*.json)
TPUGEN    := bin/tpugen
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all setup build demo test rtl rtl-check lint regress synth bench models models-pruned models-lowbit fuzz mutate soak ort-check clean

all: build

setup:
	@bash scripts/setup.sh

build:
	@mkdir -p bin
	$(GO) build -o $(TPUGEN) ./cmd/tpugen

demo: setup build
	$(TPUGEN) demo

# Everything go test covers, with the real simulators (a missing one fails),
# plus the check that committed RTL matches the generator byte for byte.
test: setup build
	TPUGEN_REQUIRE_SIMS=1 $(GO) test -timeout 30m ./...
	@$(MAKE) --no-print-directory rtl-check

rtl: build
	@for c in $(CONFIGS); do n=$$(basename $$c .json); $(TPUGEN) rtl -config $$c -out rtl-out/$$n || exit 1; done

rtl-check: build
	@bash scripts/rtl-check.sh

lint: setup build
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt: these files need formatting:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...
	@bash scripts/lint-rtl.sh

regress: setup build
	$(TPUGEN) regress -config configs/default.json -sim both -cases 200 -seed 1
	$(TPUGEN) regress -config configs/small.json -sim both -cases 200 -seed 2
	$(TPUGEN) regress -config configs/large.json -sim verilator -cases 100 -seed 3
	$(TPUGEN) regress -config configs/fast.json -sim both -cases 100 -seed 4
	$(TPUGEN) regress -config configs/sparse.json -sim both -cases 100 -seed 5
	$(TPUGEN) regress -config configs/binary.json -sim both -cases 100 -seed 6
	$(TPUGEN) regress -config configs/int4.json -sim verilator -cases 100 -seed 7
	$(TPUGEN) regress -config configs/lowprec.json -sim both -cases 60 -seed 8
	$(TPUGEN) regress -config configs/compact.json -sim both -cases 100 -seed 9
	$(TPUGEN) regress -config configs/credit.json -sim both -cases 100 -seed 10
	$(TPUGEN) regress -config configs/dsp.json -sim both -cases 100 -seed 11
	TPUGEN_REQUIRE_SIMS=1 $(GO) test ./verify/ -run 'TestMatrixUnit32x32' -long -v

# FPGA quality of results beside the hand-written array (scripts/baseline),
# each measured in one run: the 4x4 unit without the pipeline placed, routed
# and timed on an iCE40 HX8K (nextpnr-ice40, 3 seeds), then the default 8x8
# configuration's per-PE figures and accumulator memory (Yosys only: it is
# larger than an HX8K). scripts/synth.sh prints the older Yosys-only table.
synth: setup build
	$(TPUGEN) synth -config scripts/fpga/mxu4x4.json -target ice40-hx8k -baseline scripts/baseline/ws_array.v
	$(TPUGEN) synth -config configs/default.json -target ice40-hx8k -estimate -baseline scripts/baseline/ws_array.v

# Benchmarks, then the design-space sweep into docs/sweep (12 configurations
# of the default's pipeline: about 11 CPU-minutes of Yosys).
bench: setup build
	@bash scripts/bench.sh
	$(TPUGEN) sweep -rows 2,4,8 -dataflow ws,os -bits 4,8 -target generic -out docs/sweep

# Retrain the models in models/ with PyTorch and re-export them to ONNX.
models:
	@bash scripts/models/make-models.sh

# Prune the committed LeNet-5 (magnitude, structured, tile-aligned, pattern),
# fine-tune and export the pruned models to models/lenet5_mnist_prune_*.onnx.
models-pruned:
	@bash scripts/models/make-pruned.sh

# Train the binarized MLP and the 4-bit QAT LeNet-5 and export them to
# models/ (bnn_mnist.onnx, lenet5_mnist_qat4.onnx).
models-lowbit:
	@bash scripts/models/make-lowbit.sh

# Bounded native fuzzing of every parser a user feeds (configurations, matrix
# files, run files and traces, ONNX models, assembler source).
fuzz: build
	@bash scripts/fuzz.sh

# Mutation cover: Yosys mutate on the generated blocks, each mutant run
# against the regression in Verilator; killed / survived per block.
mutate: setup build
	@bash scripts/mutate.sh

# A million transactions with random valid/ready on every stream, in Verilator.
soak: setup build
	@bash scripts/soak.sh

# The float-scale requantizer checked bit for bit against ONNX Runtime.
ort-check: setup build
	@bash scripts/ort-check.sh

clean:
	rm -rf bin
