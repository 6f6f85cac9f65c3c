package sim

import (
	"bufio"
	"context"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// CoreTop describes a core design (a top with an instruction stream i_in,
// a host data stream d_in, a result stream o_out and an AXI4-Lite slave
// s_axi_*) for the core testbench. The testbench is one Verilog file that
// both simulators run (Verilator with --timing): it streams the program
// and the data from files with random valid/ready gaps, drives the
// register file like a host driver (wait for idle, start, poll status,
// read the registers) and checks the AXI handshake rules on every stream.
type CoreTop struct {
	Name                        string
	Files                       []string
	InstBits, DataBits, OutBits int
	ControlAddr, StatusAddr     int
	StartBit                    int // bit of the control register that starts a program
	SoftResetBit                int // bit of the control register that soft-resets the core
	IdleBit, DoneBit, ErrorBit  int // bits of the status register
	// Registers read back after the program stops, in order.
	Registers []CoreReg
}

// CoreReg is a register the testbench reads back.
type CoreReg struct {
	Name string
	Addr int
}

// CoreStimulus is one program run.
type CoreStimulus struct {
	Inst, Data []*big.Int // i_in and d_in payloads, in order
	Seed       uint32     // of the testbench's random gaps (0 is taken as 1)
	// StallPercent is the chance, per cycle, that a source withholds valid
	// or a sink withholds ready (0: never).
	StallPercent int
	MaxCycles    int // 0: DefaultMaxCycles
	// BreakValid makes the testbench itself drop d_in's valid once before
	// ready: a protocol violation the checker must report.
	BreakValid bool
	// After, when set, is a second program run after a soft reset: the
	// host writes soft_reset once the first program stops or, when
	// SoftResetAt > 0, at that testbench cycle if it is still running
	// (cycles count as CoreResult.Cycles), waits for idle and starts After.
	// Only After's output and registers are read back.
	After       *CoreStimulus
	SoftResetAt int
}

// CoreResult is what a core run produced.
type CoreResult struct {
	Out       []*big.Int        // o_out payloads
	Regs      map[string]uint64 // registers read back, by name
	Violation []string          // the protocol checker's reports
	Cycles    int               // testbench cycles from the end of reset to the end
	Sim       string
}

// The testbench's payload capacity: a longer program or host stream is an
// error before simulation.
const (
	coreMaxInst = 1 << 16
	coreMaxData = 1 << 20
)

// coreTB returns the testbench's Verilog.
func coreTB(t *CoreTop) string {
	var w writer
	w.f("`timescale 1ns/1ps\n`default_nettype none\n")
	w.f("// tpugen core testbench for %s: files in, AXI4-Lite host, AXI handshake checker.\n", t.Name)
	w.f("module tpugen_core_tb;\n")
	w.f("  reg clk = 1'b0;\n  always #5 clk = ~clk;\n  reg rst = 1'b1;\n")
	w.f("  integer cycle = 0, max_cycles = %d, stall = 0, violations = 0, fo, fr;\n", DefaultMaxCycles)
	w.f("  reg [31:0] rnd = 32'd1;\n  reg break_valid = 1'b0, broke = 1'b0;\n")
	w.f("  reg [1023:0] path;\n")
	// A second program after a soft reset: its payloads follow the first's
	// in the same files, from i_base2 and d_base2 on.
	w.f("  integer two = 0, soft_at = 0, phase = 1, i_base2 = 0, d_base2 = 0, ni_all = 0, nd_all = 0;\n")
	w.f("  reg rewind = 1'b0, soft_win = 1'b0, soft_win_q = 1'b0;\n")
	// DUT signals.
	w.f("  reg i_valid = 1'b0, d_valid = 1'b0, o_ready = 1'b0;\n  wire i_ready, d_ready, o_valid;\n")
	w.f("  reg %s i_data = 0;\n  reg %s d_data = 0;\n  wire %s o_data;\n", vecDecl(t.InstBits), vecDecl(t.DataBits), vecDecl(t.OutBits))
	// Payloads are loaded whole ($readmemh): Verilator's $fscanf does not
	// read in clocked processes.
	w.f("  integer ni = 0, nd = 0, i_at = 0, d_at = 0;\n")
	w.f("  reg %s i_mem [0:%d];\n  reg %s d_mem [0:%d];\n", vecDecl(t.InstBits), coreMaxInst-1, vecDecl(t.DataBits), coreMaxData-1)
	w.f("  reg aw_valid = 1'b0, w_valid = 1'b0, b_ready = 1'b0, ar_valid = 1'b0, r_ready = 1'b0;\n")
	w.f("  reg [7:0] aw_addr = 0, ar_addr = 0;\n  reg [31:0] w_data = 0;\n  reg [3:0] w_strb = 0;\n")
	w.f("  wire aw_ready, w_ready, b_valid, ar_ready, r_valid;\n  wire [1:0] b_resp, r_resp;\n  wire [31:0] r_data;\n")
	w.f("  %s dut (.clk(clk), .rst(rst),\n", t.Name)
	w.f("    .i_in_valid(i_valid), .i_in_ready(i_ready), .i_in_data(i_data),\n")
	w.f("    .d_in_valid(d_valid), .d_in_ready(d_ready), .d_in_data(d_data),\n")
	w.f("    .o_out_valid(o_valid), .o_out_ready(o_ready), .o_out_data(o_data),\n")
	w.f("    .s_axi_awaddr(aw_addr), .s_axi_awvalid(aw_valid), .s_axi_awready(aw_ready),\n")
	w.f("    .s_axi_wdata(w_data), .s_axi_wstrb(w_strb), .s_axi_wvalid(w_valid), .s_axi_wready(w_ready),\n")
	w.f("    .s_axi_bresp(b_resp), .s_axi_bvalid(b_valid), .s_axi_bready(b_ready),\n")
	w.f("    .s_axi_araddr(ar_addr), .s_axi_arvalid(ar_valid), .s_axi_arready(ar_ready),\n")
	w.f("    .s_axi_rdata(r_data), .s_axi_rresp(r_resp), .s_axi_rvalid(r_valid), .s_axi_rready(r_ready));\n")

	// xorshift32: the same gaps in both simulators.
	w.f("  function [31:0] xs(input [31:0] x);\n    reg [31:0] y;\n    begin y = x ^ (x << 13); y = y ^ (y >> 17); xs = y ^ (y << 5); end\n  endfunction\n")
	w.f("  function gap(input [31:0] x);\n    begin gap = (x %% 100) < stall; end\n  endfunction\n")

	// The handshake checker: once valid is high without ready, valid stays
	// high and the payload stays put until the transfer.
	check := func(name, valid, ready, payload string) {
		w.f("  reg chk_%s_v = 1'b0, chk_%s_r = 1'b0;\n  reg [%d:0] chk_%s_p;\n", name, name, 1023, name)
		w.f("  always @(posedge clk) if (!rst) begin\n")
		// A soft reset may drop a valid (the core's or, on the rewind, the
		// testbench's): the rule holds outside its window.
		w.f("    if (!soft_win && !soft_win_q && chk_%s_v && !chk_%s_r && (!%s || {%s} !== chk_%s_p)) begin\n", name, name, valid, payload, name)
		w.f("      violations = violations + 1;\n")
		w.f("      $display(\"PROTOCOL %s cycle %%0d: %%s\", cycle, %s ? \"payload changed while valid\" : \"valid dropped before ready\");\n", name, valid)
		w.f("    end\n    chk_%s_v <= %s; chk_%s_r <= %s; chk_%s_p <= {%s};\n  end\n", name, valid, name, ready, name, payload)
	}
	check("i_in", "i_valid", "i_ready", "i_data")
	check("d_in", "d_valid", "d_ready", "d_data")
	check("o_out", "o_valid", "o_ready", "o_data")
	check("aw", "aw_valid", "aw_ready", "aw_addr")
	check("w", "w_valid", "w_ready", "w_data, w_strb")
	check("b", "b_valid", "b_ready", "b_resp")
	check("ar", "ar_valid", "ar_ready", "ar_addr")
	check("r", "r_valid", "r_ready", "r_data, r_resp")

	// Sources: the head payload is loaded from the file when the previous
	// one transfers; valid rises after a random gap and stays until ready.
	source := func(s string) {
		w.f("  always @(posedge clk) if (!rst) begin\n")
		w.f("    if (rewind) begin\n      %s_at <= %s_base2; %s_data <= %s_mem[%s_base2]; %s_valid <= 1'b0; n%s <= n%s_all;\n", s, s, s, s, s, s, s, s)
		w.f("    end else if (%s_valid && %s_ready) begin\n", s, s)
		w.f("      %s_at <= %s_at + 1; %s_data <= %s_mem[%s_at + 1];\n", s, s, s, s, s)
		w.f("      %s_valid <= (%s_at + 1 < n%s) && !gap(xs(rnd ^ 32'h%08x));\n", s, s, s, hashName(s))
		if s == "d" {
			w.f("    end else if (break_valid && !broke && d_valid && !d_ready) begin\n      d_valid <= 1'b0; broke <= 1'b1;\n")
		}
		w.f("    end else if (!%s_valid) %s_valid <= (%s_at < n%s) && !gap(xs(rnd ^ 32'h%08x));\n  end\n", s, s, s, s, hashName(s))
	}
	source("i")
	source("d")
	w.f("  always @(posedge clk) if (!rst) begin\n")
	w.f("    rnd <= xs(rnd);\n    cycle <= cycle + 1;\n    soft_win_q <= soft_win;\n")
	w.f("    o_ready <= !gap(xs(rnd ^ 32'h%08x)); b_ready <= !gap(xs(rnd ^ 32'h%08x)); r_ready <= !gap(xs(rnd ^ 32'h%08x));\n",
		hashName("o"), hashName("b"), hashName("r"))
	w.f("    if (o_valid && o_ready && (!two || phase == 2)) $fwrite(fo, \"%%h\\n\", o_data);\n")
	w.f("    if (cycle >= max_cycles) begin\n      $fwrite(fr, \"timeout %%0d\\n\", cycle); $fclose(fr); $fclose(fo); $finish;\n    end\n")
	w.f("  end\n")

	// The host: wait for idle, start, poll until done or error, read back.
	regs := t.Registers
	softWrite := fmt.Sprintf("soft_win <= 1'b1; host <= H_SOFT; aw_valid <= 1'b1; aw_addr <= 8'd%d; w_valid <= 1'b1; w_data <= 32'd%d; w_strb <= 4'hf; wr_busy <= 1'b1;",
		t.ControlAddr, 1<<t.SoftResetBit)
	w.f("  localparam H_IDLE = 0, H_START = 1, H_POLL = 2, H_READ = 3, H_FIN = 4, H_SOFT = 5, H_REWIND = 6;\n")
	w.f("  integer host = H_IDLE, ri = 0;\n  reg rd_busy = 1'b0, wr_busy = 1'b0;\n  reg [31:0] st;\n")
	w.f("  always @(posedge clk) if (!rst) begin\n")
	w.f("    if (aw_valid && aw_ready) aw_valid <= 1'b0;\n    if (w_valid && w_ready) w_valid <= 1'b0;\n")
	w.f("    if (ar_valid && ar_ready) ar_valid <= 1'b0;\n")
	w.f("    case (host)\n")
	w.f("    H_IDLE, H_POLL: if (two && phase == 1 && host == H_POLL && soft_at > 0 && cycle >= soft_at && !rd_busy) begin\n")
	w.f("        %s\n", softWrite)
	w.f("      end else if (!rd_busy && !gap(xs(rnd ^ 32'h%08x))) begin\n", hashName("ar"))
	w.f("        ar_valid <= 1'b1; ar_addr <= 8'd%d; rd_busy <= 1'b1;\n", t.StatusAddr)
	w.f("      end else if (r_valid && r_ready) begin\n        rd_busy <= 1'b0; st = r_data;\n")
	w.f("        if (host == H_IDLE && st[%d]) begin\n", t.IdleBit)
	w.f("          host <= H_START; aw_valid <= 1'b1; aw_addr <= 8'd%d; w_valid <= 1'b1; w_data <= 32'd%d; w_strb <= 4'hf; wr_busy <= 1'b1;\n",
		t.ControlAddr, 1<<t.StartBit)
	w.f("        end else if (host == H_POLL && (st[%d] || st[%d]) && two && phase == 1) begin\n", t.DoneBit, t.ErrorBit)
	w.f("          %s\n", softWrite)
	w.f("        end else if (host == H_POLL && (st[%d] || st[%d])) begin\n          host <= H_READ; ri <= 0;\n        end\n", t.DoneBit, t.ErrorBit)
	w.f("      end\n")
	w.f("    H_START: if (b_valid && b_ready) begin wr_busy <= 1'b0; host <= H_POLL; end\n")
	w.f("    H_SOFT: if (b_valid && b_ready) begin wr_busy <= 1'b0; rewind <= 1'b1; host <= H_REWIND; end\n")
	w.f("    H_REWIND: begin rewind <= 1'b0; soft_win <= 1'b0; phase <= 2; host <= H_IDLE; end\n")
	w.f("    H_READ: if (!rd_busy) begin\n      case (ri)\n")
	for i, rg := range regs {
		w.f("      %d: ar_addr <= 8'd%d;\n", i, rg.Addr)
	}
	w.f("      default: ar_addr <= 8'd0;\n      endcase\n")
	w.f("      if (ri < %d) begin ar_valid <= 1'b1; rd_busy <= 1'b1; end else host <= H_FIN;\n", len(regs))
	w.f("    end else if (r_valid && r_ready) begin\n      rd_busy <= 1'b0; ri <= ri + 1;\n      case (ri)\n")
	for i, rg := range regs {
		w.f("      %d: $fwrite(fr, \"reg %s %%h\\n\", r_data);\n", i, rg.Name)
	}
	w.f("      default: ;\n      endcase\n    end\n")
	w.f("    H_FIN: if (!b_valid && !r_valid) begin\n")
	w.f("      $fwrite(fr, \"protocol %%0d\\ncycles %%0d\\n\", violations, cycle); $fclose(fr); $fclose(fo); $finish;\n    end\n")
	w.f("    default: ;\n    endcase\n  end\n")

	w.f("  initial begin\n")
	w.f("    if (!$value$plusargs(\"seed=%%d\", rnd)) rnd = 32'd1;\n    if (rnd == 0) rnd = 32'd1;\n")
	w.f("    if (!$value$plusargs(\"stall=%%d\", stall)) stall = 0;\n")
	w.f("    if (!$value$plusargs(\"max_cycles=%%d\", max_cycles)) max_cycles = %d;\n", DefaultMaxCycles)
	w.f("    if ($test$plusargs(\"break_valid\")) break_valid = 1'b1;\n")
	w.f("    if (!$value$plusargs(\"ninst=%%d\", ni)) ni = 0;\n    if (!$value$plusargs(\"ndata=%%d\", nd)) nd = 0;\n")
	w.f("    ni_all = ni; nd_all = nd;\n")
	w.f("    if ($value$plusargs(\"soft_at=%%d\", soft_at)) begin\n")
	w.f("      two = 1;\n      if (!$value$plusargs(\"ninst_all=%%d\", ni_all)) ni_all = ni;\n      if (!$value$plusargs(\"ndata_all=%%d\", nd_all)) nd_all = nd;\n")
	w.f("      i_base2 = ni; d_base2 = nd;\n    end\n")
	for _, f := range []struct{ v, arg, mode string }{{"i_mem", "inst", ""}, {"d_mem", "data", ""}, {"fo", "out", "w"}, {"fr", "result", "w"}} {
		w.f("    if (!$value$plusargs(\"%s=%%s\", path)) begin $display(\"missing +%s=\"); $finish; end\n", f.arg, f.arg)
		if f.mode == "" {
			w.f("    if (n%s_all > 0) $readmemh(path, %s, 0, n%s_all - 1);\n", f.v[:1], f.v, f.v[:1])
		} else {
			w.f("    %s = $fopen(path, \"%s\");\n", f.v, f.mode)
		}
	}
	w.f("    i_data = i_mem[0];\n    d_data = d_mem[0];\n")
	w.f("    repeat (4) @(posedge clk);\n    #1 rst = 1'b0;\n  end\n")
	w.f("endmodule\n")
	return w.b.String()
}

// hashName gives each random decision its own stream of values.
func hashName(s string) uint32 {
	h := uint32(2166136261)
	for _, c := range []byte(s) {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}

// RunCore runs a program on a core in the named simulator ("icarus" or
// "verilator"). Verilator builds are cached like Run's.
func RunCore(ctx context.Context, simName string, top *CoreTop, stim *CoreStimulus, opt Options) (*CoreResult, error) {
	tb := coreTB(top)
	dir, cleanup, err := runDir(opt, top.Name, simName)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	write := func(name string, vals []*big.Int, width int) (string, error) {
		var b strings.Builder
		digits := (width + 3) / 4
		for _, v := range vals {
			fmt.Fprintf(&b, "%0*x\n", digits, v)
		}
		p := filepath.Join(dir, name)
		return p, os.WriteFile(p, []byte(b.String()), 0o644)
	}
	inst, data := stim.Inst, stim.Data
	if stim.After != nil {
		inst = append(append([]*big.Int(nil), inst...), stim.After.Inst...)
		data = append(append([]*big.Int(nil), data...), stim.After.Data...)
	}
	instPath, err := write("inst.hex", inst, top.InstBits)
	if err != nil {
		return nil, fmt.Errorf("sim: core %s: %w", top.Name, err)
	}
	dataPath, err := write("data.hex", data, top.DataBits)
	if err != nil {
		return nil, fmt.Errorf("sim: core %s: %w", top.Name, err)
	}
	if len(inst) > coreMaxInst || len(data) > coreMaxData {
		return nil, fmt.Errorf("sim: core %s: %d instructions and %d data beats, the testbench holds %d and %d", top.Name, len(inst), len(data), coreMaxInst, coreMaxData)
	}
	outPath, resPath := filepath.Join(dir, "out.hex"), filepath.Join(dir, "result.txt")
	maxCycles := stim.MaxCycles
	if maxCycles <= 0 {
		maxCycles = DefaultMaxCycles
	}
	args := []string{"+inst=" + instPath, "+data=" + dataPath, "+out=" + outPath, "+result=" + resPath,
		"+seed=" + strconv.FormatUint(uint64(stim.Seed), 10), "+stall=" + strconv.Itoa(stim.StallPercent),
		"+max_cycles=" + strconv.Itoa(maxCycles), "+ninst=" + strconv.Itoa(len(stim.Inst)), "+ndata=" + strconv.Itoa(len(stim.Data))}
	if stim.BreakValid {
		args = append(args, "+break_valid")
	}
	if stim.After != nil {
		args = append(args, "+soft_at="+strconv.Itoa(stim.SoftResetAt), "+ninst_all="+strconv.Itoa(len(inst)), "+ndata_all="+strconv.Itoa(len(data)))
	}
	var out []byte
	switch simName {
	case "icarus":
		iverilog, err := lookPath("iverilog")
		if err != nil {
			return nil, err
		}
		vvp, err := lookPath("vvp")
		if err != nil {
			return nil, err
		}
		tbPath, image := filepath.Join(dir, "core_tb.v"), filepath.Join(dir, "core_tb.vvp")
		if err := os.WriteFile(tbPath, []byte(tb), 0o644); err != nil {
			return nil, fmt.Errorf("sim: core %s: %w", top.Name, err)
		}
		if _, err := run(ctx, opt.Log, dir, iverilog, append([]string{"-g2005", "-s", "tpugen_core_tb", "-o", image, tbPath}, top.Files...)...); err != nil {
			return nil, fmt.Errorf("sim: core %s: icarus compile: %w", top.Name, err)
		}
		out, err = run(ctx, opt.Log, dir, vvp, append([]string{"-n", image}, args...)...)
		if err != nil {
			return nil, fmt.Errorf("sim: core %s: icarus: %w", top.Name, err)
		}
	case "verilator":
		bin, err := buildCoreVerilator(ctx, top, tb, opt)
		if err != nil {
			return nil, err
		}
		out, err = run(ctx, opt.Log, dir, bin, args...)
		if err != nil {
			return nil, fmt.Errorf("sim: core %s: verilator: %w", top.Name, err)
		}
	default:
		return nil, fmt.Errorf("sim: unknown simulator %q (want \"icarus\" or \"verilator\")", simName)
	}
	res, err := readCoreResult(resPath, outPath)
	if err != nil {
		return nil, fmt.Errorf("sim: core %s on %s: %w (output: %s)", top.Name, simName, err, tail(out, 5))
	}
	res.Sim = simName
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "PROTOCOL ") {
			res.Violation = append(res.Violation, strings.TrimPrefix(line, "PROTOCOL "))
		}
	}
	return res, nil
}

func buildCoreVerilator(ctx context.Context, top *CoreTop, tb string, opt Options) (string, error) {
	verilator, err := lookPath("verilator")
	if err != nil {
		return "", err
	}
	root, err := cacheRoot(opt)
	if err != nil {
		return "", err
	}
	version, err := run(ctx, nil, "", verilator, "--version")
	if err != nil {
		return "", fmt.Errorf("sim: core %s: verilator: %w", top.Name, err)
	}
	flags := []string{"--binary", "--timing", "--top-module", "tpugen_core_tb", "-Wno-fatal", "-Wno-lint", "-Wno-style",
		"--x-assign", "fast", "--x-initial", "fast", "-MAKEFLAGS", "OPT_FAST=-O1 OPT_SLOW=-O0 OPT_GLOBAL=-O1", "-o", "sim"}
	parts := [][]byte{[]byte("tpugen core tb v1"), version, []byte(tb)}
	for _, f := range flags {
		parts = append(parts, []byte(f))
	}
	for _, f := range top.Files {
		src, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("sim: core %s: %w", top.Name, err)
		}
		parts = append(parts, src)
	}
	bin, _, err := cachedBuild(filepath.Join(root, "verilator"), cacheKey(parts...), "sim", func(tmp string) error {
		tbPath := filepath.Join(tmp, "core_tb.v")
		if err := os.WriteFile(tbPath, []byte(tb), 0o644); err != nil {
			return err
		}
		args := append(append([]string{"-j", strconv.Itoa(runtime.NumCPU()), "--Mdir", "obj"}, flags...), tbPath)
		if _, err := run(ctx, opt.Log, tmp, verilator, append(args, top.Files...)...); err != nil {
			return fmt.Errorf("sim: core %s: verilator build: %w", top.Name, err)
		}
		if err := os.Rename(filepath.Join(tmp, "obj", "sim"), filepath.Join(tmp, "sim")); err != nil {
			return fmt.Errorf("sim: core %s: verilator build: %w", top.Name, err)
		}
		return os.RemoveAll(filepath.Join(tmp, "obj"))
	})
	return bin, err
}

func readCoreResult(resPath, outPath string) (*CoreResult, error) {
	res := &CoreResult{Regs: map[string]uint64{}}
	f, err := os.Open(resPath)
	if err != nil {
		return nil, fmt.Errorf("no result: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	done := false
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		switch {
		case len(fs) == 2 && fs[0] == "timeout":
			return nil, fmt.Errorf("the core did not stop within %s cycles (hung)", fs[1])
		case len(fs) == 3 && fs[0] == "reg":
			v, err := strconv.ParseUint(fs[2], 16, 64)
			if err != nil {
				return nil, fmt.Errorf("register %s: %q is not hex (x or z?)", fs[1], fs[2])
			}
			res.Regs[fs[1]] = v
		case len(fs) == 2 && fs[0] == "protocol":
		case len(fs) == 2 && fs[0] == "cycles":
			res.Cycles, err = strconv.Atoi(fs[1])
			if err != nil {
				return nil, fmt.Errorf("bad result line %q", sc.Text())
			}
			done = true
		default:
			return nil, fmt.Errorf("bad result line %q", sc.Text())
		}
	}
	if !done {
		return nil, fmt.Errorf("truncated result")
	}
	data, err := os.ReadFile(outPath)
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Fields(string(data)) {
		v, ok := new(big.Int).SetString(line, 16)
		if !ok {
			return nil, fmt.Errorf("output beat %q is not hex (x or z?)", line)
		}
		res.Out = append(res.Out, v)
	}
	return res, nil
}
