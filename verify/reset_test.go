package verify_test

import (
	"bufio"
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/internal/rtltest"
	"github.com/tpugen/tpugen/verify"
)

// The reset and X checks drive the generated top from a testbench of their
// own rather than the simulator layer's harness, which holds reset only
// before a run: here reset comes back in the middle of a job, with beats in
// the array and the pipeline, and the unit must come out of it clean.
//
// A scenario is a list of segments played one after the other. A segment
// offers its payloads on the input streams and records what leaves the
// output streams; it ends either when its inputs are taken and its
// expected beats are out (then linger cycles more, recording), or, with a
// reset trigger, in the middle: reset is asserted for two cycles as soon as
// the trigger fires, the rest of the segment's payloads are dropped, and a
// quiet gap follows in which nothing may leave the unit.

// resetTrigger says when a segment is cut short by reset.
type resetTrigger struct {
	stream string // stream whose count triggers it ("" for none)
	count  int    // reset once this many beats of stream have fired
}

type segment struct {
	name     string
	payloads map[string][]*big.Int // per input stream
	expect   map[string]int        // beats per output stream (complete segments)
	plan     *compile.GEMMPlan     // for decoding c_out
	want     compile.Matrix
	layer    *compile.LayerPlan // a layer job: results on y_out
	layerOut []int8             // its expected output
	reset    resetTrigger
}

// tbPorts are the generated top's streams and outputs, as the manifest
// gives them.
type tbPorts struct {
	man     *arch.Manifest
	ins     []arch.Layout // input streams
	outs    []arch.Layout // output streams
	outputs []arch.Port
}

func rolesOf(man *arch.Manifest) tbPorts {
	p := tbPorts{man: man}
	for _, s := range man.Streams {
		if s.Dir == "in" {
			p.ins = append(p.ins, s)
		} else {
			p.outs = append(p.outs, s)
		}
	}
	for _, port := range man.Ports {
		if port.Dir == "out" {
			p.outputs = append(p.outputs, port)
		}
	}
	return p
}

// testbench writes a Verilog-2005 testbench that plays segs on the top and
// logs, one line each: "b <segment> <stream-index> <hex>" per output beat,
// "g <segment> <stream-index> <hex>" per beat in a quiet gap after a reset,
// "r <segment> <cycle>" per reset, "x <cycle> <port>" per output that holds
// an x or z bit in a cycle after the first reset, and "done <cycles>".
// The design's memories are left as the simulator starts them: all x.
func testbench(p tbPorts, segs []segment, linger, gap int) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	vec := func(width int) string {
		if width == 1 {
			return ""
		}
		return fmt.Sprintf("[%d:0] ", width-1)
	}
	man := p.man
	w("`timescale 1ns/1ps")
	w("module tb;")
	w("  reg %s = 1'b0;", man.Clock)
	w("  reg %s = 1'b1;", man.Reset)
	var conns []string
	for _, port := range man.Ports {
		conns = append(conns, fmt.Sprintf(".%s(%s)", port.Name, port.Name))
		if port.Name == man.Clock || port.Name == man.Reset {
			continue
		}
		if port.Dir == "out" {
			w("  wire %s%s;", vec(port.Width), port.Name)
		} else {
			w("  reg %s%s = %d'd0;", vec(port.Width), port.Name, port.Width)
		}
	}
	w("  %s dut (%s);", man.Top, strings.Join(conns, ", "))
	// Payloads of every segment back to back per input stream; in<k>_ptr
	// and in<k>_hi bound the current segment's. Inputs that are no stream's
	// (the core's register port) stay 0: idle.
	for k, s := range p.ins {
		total := 0
		for _, sg := range segs {
			total += len(sg.payloads[s.Name])
		}
		w("  reg [%d:0] in%d_mem [0:%d];", s.Width-1, k, max(total, 1)-1)
		w("  integer in%d_ptr, in%d_hi, in%d_fired;", k, k, k)
		w("  reg in%d_fire;", k)
	}
	for k := range p.outs {
		w("  integer out%d_n;", k)
		w("  reg out%d_fire;", k)
	}
	w("  integer fd, cycle, seg, left, quiet, resetting;")
	w("  initial begin")
	for k, s := range p.ins {
		i := 0
		for _, sg := range segs {
			for _, v := range sg.payloads[s.Name] {
				w("    in%d_mem[%d] = %d'h%s;", k, i, s.Width, v.Text(16))
				i++
			}
		}
	}
	w("    fd = $fopen(\"tb.log\", \"w\");")
	w("    cycle = 0; seg = 0; left = -1; quiet = 0; resetting = 0;")
	// Reset for two rising edges, as the harness does; memories stay x.
	w("    #5 %s = 1'b1; #5 %s = 1'b0; #5 %s = 1'b1; #5 %s = 1'b0;", man.Clock, man.Clock, man.Clock, man.Clock)
	w("    %s = 1'b0;", man.Reset)
	startSeg := func(indent string) {
		for k, s := range p.ins {
			w(indent+"in%d_fired = 0;", k)
			w(indent + "case (seg)")
			lo := 0
			for si, sg := range segs {
				n := len(sg.payloads[s.Name])
				w(indent+"  %d: begin in%d_ptr = %d; in%d_hi = %d; end", si, k, lo, k, lo+n)
				lo += n
			}
			w(indent+"  default: begin in%d_ptr = 0; in%d_hi = 0; end", k, k)
			w(indent + "endcase")
		}
		for k := range p.outs {
			w(indent+"out%d_n = 0;", k)
		}
	}
	startSeg("    ")
	w("    while (seg < %d) begin", len(segs))
	// 1. Inputs of this cycle.
	for k, s := range p.ins {
		w("      %s = (resetting == 0 && quiet == 0 && in%d_ptr < in%d_hi);", s.Valid, k, k)
		w("      %s = %s ? in%d_mem[in%d_ptr] : %d'd0;", s.Data, s.Valid, k, k, s.Width)
	}
	// The testbench's side of each stream is in reset too: it offers no
	// payload and takes none while reset is high.
	for _, s := range p.outs {
		w("      %s = (resetting == 0);", s.Ready)
	}
	w("      %s = (resetting != 0);", man.Reset)
	// 2. Settle, then sample: x/z on any output, handshakes.
	w("      #2;")
	// A data port is checked in every cycle too, but reported apart ("q")
	// while its valid is low: a payload nobody may take.
	validOf := map[string]string{}
	for _, s := range p.outs {
		validOf[s.Data] = s.Valid
	}
	for _, port := range p.outputs {
		if v, ok := validOf[port.Name]; ok {
			w("      if ((^%s) === 1'bx) $fwrite(fd, \"%%s %%0d %s\\n\", (%s === 1'b0) ? \"q\" : \"x\", cycle);", port.Name, port.Name, v)
			continue
		}
		w("      if ((^%s) === 1'bx) $fwrite(fd, \"x %%0d %s\\n\", cycle);", port.Name, port.Name)
	}
	for k, s := range p.ins {
		w("      in%d_fire = %s && %s;", k, s.Valid, s.Ready)
	}
	for k, s := range p.outs {
		w("      out%d_fire = (%s === 1'b1) && %s;", k, s.Valid, s.Ready)
		w("      if (out%d_fire) $fwrite(fd, \"%%s %%0d %d %%h\\n\", (quiet != 0 || resetting != 0) ? \"g\" : \"b\", seg, %s);", k, k, s.Data)
	}
	// 3. The clock edge.
	w("      #3 %s = 1'b1; #5 %s = 1'b0;", man.Clock, man.Clock)
	// 4. Segment bookkeeping.
	for k := range p.ins {
		w("      if (in%d_fire) begin in%d_ptr = in%d_ptr + 1; in%d_fired = in%d_fired + 1; end", k, k, k, k, k)
	}
	for k := range p.outs {
		w("      if (out%d_fire) out%d_n = out%d_n + 1;", k, k, k)
	}
	w("      cycle = cycle + 1;")
	w("      if (resetting != 0) begin")
	w("        resetting = resetting - 1;")
	w("        if (resetting == 0) quiet = %d;", gap)
	w("      end else if (quiet != 0) begin")
	w("        quiet = quiet - 1;")
	w("        if (quiet == 0) begin seg = seg + 1; left = -1;")
	startSeg("          ")
	w("        end")
	w("      end else if (left > 0) begin")
	w("        left = left - 1;")
	w("        if (left == 0) begin seg = seg + 1; left = -1;")
	startSeg("          ")
	w("        end")
	w("      end else begin")
	w("        case (seg)")
	for si, sg := range segs {
		if sg.reset.stream != "" {
			cond := ""
			for k, s := range p.ins {
				if s.Name == sg.reset.stream {
					cond = fmt.Sprintf("in%d_fired >= %d", k, sg.reset.count)
				}
			}
			for k, s := range p.outs {
				if s.Name == sg.reset.stream {
					cond = fmt.Sprintf("out%d_n >= %d", k, sg.reset.count)
				}
			}
			w("          %d: if (%s) begin resetting = 2; $fwrite(fd, \"r %%0d %%0d\\n\", seg, cycle); end", si, cond)
			continue
		}
		done := []string{"1"}
		for k := range p.ins {
			done = append(done, fmt.Sprintf("in%d_ptr >= in%d_hi", k, k))
		}
		for k, s := range p.outs {
			done = append(done, fmt.Sprintf("out%d_n >= %d", k, sg.expect[s.Name]))
		}
		w("          %d: if (%s) left = %d;", si, strings.Join(done, " && "), linger)
	}
	w("        endcase")
	w("      end")
	// A hung design stops at a limit well beyond what the jobs need.
	work := 1000
	for _, sg := range segs {
		work += 2*(linger+gap) + 8
		for _, v := range sg.payloads {
			work += 8 * len(v)
		}
		for _, n := range sg.expect {
			work += 8 * n
		}
	}
	w("      if (cycle > %d) begin $fwrite(fd, \"limit %%0d\\n\", cycle); seg = %d; end", work, len(segs))
	w("    end")
	w("    $fwrite(fd, \"done %%0d\\n\", cycle);")
	w("    $fclose(fd);")
	w("    $finish;")
	w("  end")
	w("endmodule")
	return b.String()
}

// tbLog is what a testbench run logged.
type tbLog struct {
	beats  map[int]map[int][]*big.Int // segment → output stream → beats
	gaps   []string                   // beats in a quiet gap
	xs     []string                   // "cycle port"
	idleXs []string                   // the same for a data port while its valid is low
	resets map[int]int                // segment → cycle of its reset
	cycles int
	limit  bool
}

func runTestbench(t *testing.T, files []string, tb string) *tbLog {
	t.Helper()
	run := t.TempDir()
	tbFile := filepath.Join(run, "tb.v")
	if err := os.WriteFile(tbFile, []byte(tb), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	args := append([]string{"-g2005", "-o", filepath.Join(run, "tb.vvp"), "-s", "tb", tbFile}, files...)
	if out, err := exec.CommandContext(ctx, "iverilog", args...).CombinedOutput(); err != nil {
		t.Fatalf("iverilog: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, "vvp", "-n", "tb.vvp")
	cmd.Dir = run
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("vvp: %v\n%s", err, out)
	}
	f, err := os.Open(filepath.Join(run, "tb.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	log := &tbLog{beats: map[int]map[int][]*big.Int{}, resets: map[int]int{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	atoi := func(s string) int {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("testbench log: %v", err)
		}
		return n
	}
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		switch {
		case len(fl) == 4 && fl[0] == "b":
			seg, k := atoi(fl[1]), atoi(fl[2])
			v, ok := new(big.Int).SetString(fl[3], 16)
			if !ok {
				t.Fatalf("testbench log: beat %q", sc.Text())
			}
			if log.beats[seg] == nil {
				log.beats[seg] = map[int][]*big.Int{}
			}
			log.beats[seg][k] = append(log.beats[seg][k], v)
		case len(fl) == 4 && fl[0] == "g":
			log.gaps = append(log.gaps, sc.Text())
		case len(fl) == 3 && fl[0] == "x":
			log.xs = append(log.xs, fl[1]+" "+fl[2])
		case len(fl) == 3 && fl[0] == "q":
			log.idleXs = append(log.idleXs, fl[1]+" "+fl[2])
		case len(fl) == 3 && fl[0] == "r":
			log.resets[atoi(fl[1])] = atoi(fl[2])
		case len(fl) == 2 && fl[0] == "done":
			log.cycles = atoi(fl[1])
		case len(fl) == 2 && fl[0] == "limit":
			log.limit = true
		default:
			t.Fatalf("testbench log: unexpected line %q", sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return log
}

// gemmSegment plans a random GEMM of m×k×n on the manifest's unit.
func gemmSegment(man *arch.Manifest, r *rand.Rand, name string, m, k, n int) (segment, error) {
	cfg := man.Config
	a := randMatrix(r, m, k, cfg.InputBits, cfg.InputSigned)
	bm := randMatrix(r, k, n, cfg.WeightBits, cfg.WeightSigned)
	plan, err := compile.PlanGEMM(man, a, bm)
	if err != nil {
		return segment{}, fmt.Errorf("%s: %w", name, err)
	}
	w := plan.W
	if cfg.WeightCompression.IsCompressed() { // w_in carries compressed records
		if w, _, _, err = compile.CompressWeights(man, plan.W); err != nil {
			return segment{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	return segment{name: name, plan: plan, want: verify.GoldenGEMM(cfg, a, bm),
		payloads: map[string][]*big.Int{arch.StreamW: w, arch.StreamA: plan.A},
		expect:   map[string]int{arch.StreamC: len(plan.Out)}}, nil
}

// shippedConfigs are configs/*.json: every configuration make rtl ships.
func shippedConfigs(t *testing.T) []gen.Config {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "configs", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no shipped configurations: %v", err)
	}
	var cfgs []gen.Config
	for _, p := range paths {
		c, err := gen.LoadConfig(p)
		if err != nil {
			t.Fatal(err)
		}
		cfgs = append(cfgs, c)
	}
	return cfgs
}

// noInitial matches what would hide uninitialized state from the check: an
// initial block or a memory loaded from a file.
var noInitial = regexp.MustCompile(`\binitial\b|\$readmem`)

// TestResetAndX runs every shipped configuration's generated top in Icarus
// (4-state) with its memories uninitialized: idle cycles after reset, a
// complete GEMM, then a GEMM cut by reset three times — early (weights
// going in), mid-stream (activations going in, results in flight) and
// while draining (results half out) — each reset followed by a quiet gap
// and a fresh job. Every output port — each stream's valid and ready, every
// plain output, and each payload whenever its valid is high — must be free
// of x and z in every cycle from the first one after reset; nothing may
// leave the unit in the gaps (no stale beat); every complete job's result
// is exact. A payload must be free of x while its valid is low too: the
// valid/ready contract alone would allow it, but the generated tops drive
// zero there, so no output is ever x. A top without the matrix unit's
// streams (the core) gets the idle part only.
func TestResetAndX(t *testing.T) {
	requireTool(t, "iverilog")
	for _, cfg := range shippedConfigs(t) {
		t.Run(cfg.Name, func(t *testing.T) {
			man, dir := genRTL(t, cfg)
			rep := resetScenario(t, man, dir)
			for _, p := range rep.problems {
				t.Error(p)
			}
			if len(rep.idleXs) > 0 {
				t.Errorf("%d samples of stream payloads hold x or z while their valid is low: ports %v",
					len(rep.idleXs), rep.idlePorts())
			}
			t.Logf("%d cycles, %d segments, resets at cycles %v", rep.cycles, rep.segments, rep.resets)
		})
	}
}

// TestResetAndXCatchesBugs breaks a small design's RTL in the ways the
// reset check exists for and shows that it fails on each: a valid register
// without its reset, in the matrix unit and in the pipeline's activation
// unit (x on c_out_valid or y_out_valid after reset, and stale beats after
// a reset mid-run), and a beat repeated late (an extra beat of a job).
func TestResetAndXCatchesBugs(t *testing.T) {
	requireTool(t, "iverilog")
	cfg := gen.Config{Name: "reset_ws_2x2", Rows: 2, Cols: 2, Dataflow: arch.WS, AccDepth: 16}
	for _, tc := range []struct {
		name  string
		spoil func(t *testing.T, man *arch.Manifest, dir string)
		want  string
	}{
		{"valid without reset", func(t *testing.T, man *arch.Manifest, dir string) {
			removeReset(t, filepath.Join(dir, man.Top+".v"), "out_valid_q <= 1'b0;")
		}, "c_out_valid"},
		{"late extra beat", func(t *testing.T, man *arch.Manifest, dir string) {
			rtltest.Misbehave(t, dir, man, arch.StreamC, rtltest.LateBeat, "")
		}, "c_out beats, want"},
		{"pipeline valid without reset", func(t *testing.T, man *arch.Manifest, dir string) {
			for _, f := range man.Files {
				if strings.HasPrefix(f.Module, "activation") {
					removeReset(t, filepath.Join(dir, f.Name), "out_valid_q <= 1'b0;")
					return
				}
			}
			t.Fatal("no activation unit in the design")
		}, "y_out_valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := cfg
			if strings.HasPrefix(tc.name, "pipeline") {
				cfg = gen.Config{Name: "reset_pipe_2x2", Rows: 2, Cols: 2, Dataflow: arch.WS, AccDepth: 32, Requant: true, Activation: arch.AllActivations}
			}
			man, dir := genRTL(t, cfg)
			tc.spoil(t, man, dir)
			rep := resetScenario(t, man, dir)
			all := strings.Join(rep.problems, "\n")
			if !strings.Contains(all, tc.want) {
				t.Errorf("the broken design passed the reset check (want a problem naming %q); problems:\n%s", tc.want, all)
			}
		})
	}
}

// removeReset deletes the reset assignment from in the Verilog file path.
func removeReset(t *testing.T, path, from string) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), from) {
		t.Fatalf("%s has no %q", path, from)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(src), from, ";", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// resetReport is the outcome of the reset scenario on one design.
type resetReport struct {
	problems []string
	idleXs   []string
	cycles   int
	segments int
	resets   map[int]int
}

// idlePorts names the ports in idleXs.
func (r *resetReport) idlePorts() []string {
	seen := map[string]bool{}
	var ports []string
	for _, x := range r.idleXs {
		p := x[strings.IndexByte(x, ' ')+1:]
		if !seen[p] {
			seen[p] = true
			ports = append(ports, p)
		}
	}
	return ports
}

// resetScenario plays the scenario of TestResetAndX on the design in dir.
func resetScenario(t *testing.T, man *arch.Manifest, dir string) *resetReport {
	t.Helper()
	var files []string
	for _, f := range man.Files {
		path := filepath.Join(dir, f.Name)
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if loc := noInitial.FindIndex(src); loc != nil {
			t.Fatalf("%s initializes state (%q): the check needs memories left as x", f.Name, src[loc[0]:loc[1]])
		}
		files = append(files, path)
	}
	cfg := man.Config
	p := rolesOf(man)
	r := rand.New(rand.NewPCG(uint64(len(cfg.Name)), 14))
	R, C := cfg.Rows, cfg.Cols
	segs := []segment{{name: "idle", payloads: map[string][]*big.Int{}, expect: map[string]int{}}}
	has := map[string]bool{}
	for _, s := range man.Streams {
		has[s.Name] = true
	}
	// The jobs are raw GEMMs; a top without the matrix unit's streams, or
	// whose streams compile.PlanGEMM does not plan for, is checked idle.
	var jobs []segment
	if has[arch.StreamW] && has[arch.StreamA] && has[arch.StreamC] {
		for _, name := range []string{"first job", "reset early", "after early", "reset mid-stream", "after mid-stream", "reset draining", "after draining"} {
			sg, err := gemmSegment(man, r, name, 2*R+1, 2*R+3, C+2)
			if err != nil {
				t.Logf("%s: %v: idle check only", man.Top, err)
				jobs = nil
				break
			}
			jobs = append(jobs, sg)
		}
	} else {
		t.Logf("%s: no matrix unit streams on the top: idle check only", man.Top)
	}
	if jobs != nil {
		jobs[1].reset = resetTrigger{arch.StreamW, 1}
		jobs[3].reset = resetTrigger{arch.StreamA, len(jobs[3].plan.A) / 2}
		jobs[5].reset = resetTrigger{arch.StreamC, max(len(jobs[5].plan.Out)/2, 1)}
		segs = append(segs, jobs...)
		// With the pipeline, layers too: parameters on p_in, results
		// requantized, activated and pooled on y_out; reset while the
		// parameters go in and while results leave the pipeline.
		if has[arch.StreamP] && has[arch.StreamY] {
			var layers []segment
			for i, name := range []string{"first layer", "layer reset in parameters", "after layer reset in parameters", "layer reset draining", "after layer reset draining"} {
				sg, err := layerSegment(man, name, i)
				if err != nil { // the regression's layer cases are int8
					t.Logf("%s: %v: no layer jobs", cfg.Name, err)
					layers = nil
					break
				}
				layers = append(layers, sg)
			}
			if layers != nil {
				layers[1].reset = resetTrigger{arch.StreamP, max(len(layers[1].layer.Params)/2, 1)}
				layers[3].reset = resetTrigger{arch.StreamY, max(layers[3].layer.Beats()/2, 1)}
				segs = append(segs, layers...)
			}
		}
	}
	latency := man.Derived.Latency + man.Derived.PipelineLatency
	linger, gap := 2*latency+32, 2*latency+32
	log := runTestbench(t, files, testbench(p, segs, linger, gap))
	rep := &resetReport{idleXs: log.idleXs, cycles: log.cycles, segments: len(segs), resets: log.resets}
	bad := func(format string, a ...any) { rep.problems = append(rep.problems, fmt.Sprintf(format, a...)) }
	if log.limit {
		bad("the testbench hit its cycle limit: the design hung")
	}
	if len(log.xs) > 0 {
		bad("%d output samples hold x or z; the first (cycle port): %v", len(log.xs), log.xs[:min(len(log.xs), 8)])
	}
	if len(log.gaps) > 0 {
		bad("beats left the unit in the quiet gap after a reset (stale beats): %v", log.gaps[:min(len(log.gaps), 8)])
	}
	for si, sg := range segs {
		if sg.reset.stream != "" {
			if _, ok := log.resets[si]; !ok {
				bad("%s: the reset never fired", sg.name)
			}
			continue
		}
		for k, s := range p.outs {
			beats := log.beats[si][k]
			switch {
			case s.Name == arch.StreamC && sg.plan != nil && sg.layer == nil:
				rep.problems = append(rep.problems, checkGEMM(man, sg, beats)...)
			case s.Name == arch.StreamY && sg.layer != nil:
				rep.problems = append(rep.problems, checkLayer(man, sg, beats)...)
			case len(beats) != 0:
				bad("%s: %d beats on %s, want none", sg.name, len(beats), s.Name)
			}
		}
	}
	return rep
}

// checkGEMM compares a complete job's c_out beats with the golden model:
// exactly the planned beats, each at its accumulator address, every
// element exact. It returns the problems.
func checkGEMM(man *arch.Manifest, sg segment, beats []*big.Int) []string {
	if len(beats) != len(sg.plan.Out) {
		return []string{fmt.Sprintf("%s: %d c_out beats, want %d", sg.name, len(beats), len(sg.plan.Out))}
	}
	var problems []string
	cs := man.Stream(arch.StreamC)
	c := compile.NewMatrix(sg.plan.M, sg.plan.N)
	for i, v := range beats {
		o := sg.plan.Out[i]
		addr, err := cs.Unpack(v, "addr")
		if err != nil {
			return append(problems, err.Error())
		}
		if addr[0] != int64(o.Addr) {
			problems = append(problems, fmt.Sprintf("%s: beat %d carries address %d, want %d", sg.name, i, addr[0], o.Addr))
		}
		sums, err := cs.Unpack(v, "sums")
		if err != nil {
			return append(problems, err.Error())
		}
		for j := 0; j < o.Lanes; j++ {
			c[o.Row][o.Col0+j] = sums[j]
		}
	}
	if mm := verify.CompareMatrices(sg.want, c); mm.Count > 0 {
		problems = append(problems, fmt.Sprintf("%s: %d elements differ from the golden model: %v", sg.name, mm.Count, mm.First))
	}
	return problems
}

// layerSegment plans layer case index of the regression's layer cases
// (verify.MakeLayerCase, seed 14): alternately fully connected and
// convolution layers with the configuration's activations and pooling.
func layerSegment(man *arch.Manifest, name string, index int) (segment, error) {
	cfg := man.Config
	for ; ; index += 2 { // a case the configuration cannot take: the next of its kind
		c := verify.MakeLayerCase(cfg, 14, index)
		want, _, err := verify.LayerReference(cfg, c.Layer)
		if err != nil {
			if index > 40 {
				return segment{}, fmt.Errorf("%s: %w", name, err)
			}
			continue
		}
		plan, err := compile.PlanLayer(man, c.Layer)
		if err != nil {
			return segment{}, fmt.Errorf("%s (%s): %w", name, c.Name, err)
		}
		w := plan.GEMM.W
		if cfg.WeightCompression.IsCompressed() {
			if w, _, _, err = compile.CompressWeights(man, w); err != nil {
				return segment{}, fmt.Errorf("%s: %w", name, err)
			}
		}
		return segment{name: name + " (" + c.Name + ")", plan: plan.GEMM, layer: plan, layerOut: want,
			payloads: map[string][]*big.Int{arch.StreamW: w, arch.StreamA: plan.GEMM.A, arch.StreamP: plan.Params},
			expect:   map[string]int{arch.StreamY: plan.Beats()}}, nil
	}
}

// checkLayer compares a complete layer job's y_out beats with the golden
// model: exactly the planned beats, each with its parameter-set tag, every
// output exact.
func checkLayer(man *arch.Manifest, sg segment, beats []*big.Int) []string {
	lp := sg.layer
	if len(beats) != lp.Beats() {
		return []string{fmt.Sprintf("%s: %d y_out beats, want %d", sg.name, len(beats), lp.Beats())}
	}
	var problems []string
	ys, C := man.Stream(arch.StreamY), man.Config.Cols
	out := make([]int8, lp.Shape.Len())
	for i, v := range beats {
		t, p := i/lp.PerTile, i%lp.PerTile
		tag, err := ys.Unpack(v, "tag")
		if err != nil {
			return append(problems, err.Error())
		}
		if tag[0] != int64(t) {
			problems = append(problems, fmt.Sprintf("%s: y_out beat %d carries tag %d, want %d", sg.name, i, tag[0], t))
		}
		vals, err := ys.Unpack(v, "values")
		if err != nil {
			return append(problems, err.Error())
		}
		for j := 0; j < C && t*C+j < lp.Shape.C; j++ {
			out[p*lp.Shape.C+t*C+j] = int8(vals[j])
		}
	}
	if mm := verify.CompareTensors(sg.layerOut, out, lp.Shape); mm.Count > 0 {
		problems = append(problems, fmt.Sprintf("%s: %d outputs differ from the golden model: %v", sg.name, mm.Count, mm.First))
	}
	return problems
}
