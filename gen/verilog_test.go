package gen_test

import (
	"bytes"
	"flag"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tpugen/tpugen/blocks"
	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/hdl"
	"github.com/tpugen/tpugen/internal/rtltest"
	"github.com/tpugen/tpugen/verify/sim"
)

var (
	update = flag.Bool("update", false, "rewrite the golden files in testdata")
	seed   = flag.Uint64("seed", 1, "seed of the random expressions in TestEmitMatchesEval")
)

// goldenDesigns are small designs whose emitted Verilog is kept in
// testdata/<name>.v: all files of the design concatenated, submodules first.
var goldenDesigns = []struct {
	name  string
	build func(t *testing.T) *hdl.Module
	files []string // the emitted file names, in order
}{
	{"counter", func(t *testing.T) *hdl.Module {
		c, err := blocks.NewCounter(blocks.CounterConfig{Width: 8})
		must(t, err)
		return c.Module
	}, []string{"counter_w8.v"}},
	{"adder_tree_n5_s8", func(t *testing.T) *hdl.Module {
		a, err := blocks.NewAdderTree(blocks.AdderTreeConfig{Inputs: 5, Width: 8, Signed: true})
		must(t, err)
		return a.Module
	}, []string{"adder_tree_n5_s8.v"}},
	{"fifo_d4_w16", func(t *testing.T) *hdl.Module {
		f, err := blocks.NewFIFO(blocks.FIFOConfig{Depth: 4, Width: 16})
		must(t, err)
		return f.Module
	}, []string{"fifo_d4_w16.v"}},
	{"memory", func(*testing.T) *hdl.Module { return memoryModule() }, []string{"mem_rw.v"}},
	{"hierarchy", func(*testing.T) *hdl.Module { return hierarchyModule() }, []string{"scale_add.v", "hier_top.v"}},
	{"all_ops", func(*testing.T) *hdl.Module { return allOpsModule() }, []string{"all_ops.v"}},
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// memoryModule has a memory with initial contents, a synchronous read port
// with an enable, one without, and a conditional write. The memory's name is
// a Verilog keyword.
func memoryModule() *hdl.Module {
	m := hdl.NewModule("mem_rw")
	we := m.Input("in_we", hdl.U(1))
	waddr := m.Input("in_waddr", hdl.U(3))
	wdata := m.Input("in_wdata", hdl.S(12))
	raddr := m.Input("in_raddr", hdl.U(3))
	ren := m.Input("in_ren", hdl.U(1))
	mem := m.Memory("table", hdl.S(12), 6, []int64{-2048, -1, 0, 1, 2047, 100})
	rd := mem.Read("rd", raddr, ren)
	peek := mem.Read("peek", waddr, nil)
	m.If(we, func() { mem.Write(waddr, wdata) })
	m.Set(m.Output("out_data", hdl.S(12)), rd)
	m.Set(m.Output("out_peek_neg", hdl.U(1)), peek.MSB())
	return m
}

// scaleAdd is the leaf of the hierarchy design: a registered product with a
// reset. Building it twice gives two structurally identical modules.
func scaleAdd() *hdl.Module {
	m := hdl.NewModule("scale_add")
	x := m.Input("in_x", hdl.S(8))
	k := m.Input("in_k", hdl.S(4))
	acc := m.Reg("acc", hdl.S(12), hdl.ResetTo(0))
	m.Set(acc, x.Mul(k))
	m.Set(m.Output("out_y", hdl.S(12)), acc)
	m.Set(m.Output("out_neg", hdl.U(1)), acc.MSB())
	return m
}

// hierarchyModule instantiates scale_add three times: twice the same module
// value, once a second identical build. The emitter must print scale_add
// once. One instance leaves an output unbound.
func hierarchyModule() *hdl.Module {
	s1, s2 := scaleAdd(), scaleAdd()
	port := func(m *hdl.Module, name string) *hdl.Expr {
		for _, p := range m.Ports() {
			if p.Name() == name {
				return p.Expr()
			}
		}
		panic("no port " + name)
	}
	m := hdl.NewModule("hier_top")
	x := m.Input("in_x", hdl.S(8))
	k0 := m.Input("in_k0", hdl.S(4))
	k1 := m.Input("in_k1", hdl.S(4))
	u0 := m.Instance("u0", s1)
	u0.In(port(s1, "in_x"), x)
	u0.In(port(s1, "in_k"), k0)
	u1 := m.Instance("u1", s1)
	u1.In(port(s1, "in_x"), u0.Out(port(s1, "out_y")).Trunc(8))
	u1.In(port(s1, "in_k"), k1)
	u2 := m.Instance("u2", s2)
	u2.In(port(s2, "in_x"), u1.Out(port(s1, "out_y")).Shr(4))
	u2.In(port(s2, "in_k"), m.Const(-3, hdl.S(4)))
	m.Set(m.Output("out_y", hdl.S(12)), u2.Out(port(s2, "out_y")))
	m.Set(m.Output("out_neg", hdl.U(1)), u0.Out(port(s1, "out_neg")).Or(u1.Out(port(s1, "out_neg"))))
	return m
}

// allOpsModule uses every hdl operator on signed and unsigned operands, at
// widths where the emitter must extend, truncate or pass through, plus
// If/ElseIf/Else, Switch, registers with and without reset, and names that
// are Verilog keywords.
func allOpsModule() *hdl.Module {
	m := hdl.NewModule("all_ops")
	a := m.Input("a", hdl.U(8))
	b := m.Input("b", hdl.U(8))
	c := m.Input("c", hdl.S(8))
	d := m.Input("d", hdl.S(8))
	sh := m.Input("sh", hdl.U(3))
	sel := m.Input("sel", hdl.U(2))
	w := m.Input("event", hdl.S(70)) // a keyword: the emitter escapes it
	out := func(name string, e *hdl.Expr) {
		m.Set(m.Output(name, e.Shape()), e)
	}
	out("add_u", a.Add(b))
	out("add_s", c.Add(d))
	out("sub_u", a.Sub(b))
	out("sub_s", c.Sub(d))
	out("mul_u", a.Mul(b))
	out("mul_s", c.Mul(d))
	out("mul_wide", w.Mul(c).Shr(40))
	out("neg", c.Neg())
	out("neg_u", a.Neg())
	out("and_u", a.And(b))
	out("or_s", c.Or(d))
	out("xor_u", a.Xor(b))
	out("not_s", c.Not())
	out("not_u_ext", a.Not().Ext(10))
	out("shl", a.Shl(3))
	out("shl_s", c.Shl(2))
	out("shr_u", a.Shr(2))
	out("shr_s", c.Shr(2))
	out("shr_s_ext", hdl.SExt(c.Shr(3), 9))
	out("shlby_u", a.ShlBy(sh))
	out("shlby_s", c.ShlBy(sh))
	out("shrby_u", a.ShrBy(sh))
	out("shrby_s", c.ShrBy(sh))
	out("shrby_s_ext", c.ShrBy(sh).Ext(12))
	out("shrby_s_trunc", c.ShrBy(sh).Trunc(3))
	out("cmp", hdl.Cat(a.Eq(b), a.Ne(b), a.Lt(b), a.Le(b), a.Gt(b), a.Ge(b),
		c.Eq(d), c.Ne(d), c.Lt(d), c.Le(d), c.Gt(d), c.Ge(d), a.EqConst(255), c.EqConst(-1)))
	out("cmp_mixed_width", hdl.Cat(a.Lt(sh.Ext(5).Trunc(5).Ext(8)), c.Gt(w.Trunc(9))))
	out("slice", a.Slice(6, 2))
	out("slice_s", c.Slice(7, 1))
	out("bits", hdl.Cat(a.Bit(0), c.MSB(), w.Bit(69)))
	out("cat", hdl.Cat(a, c, sh))
	out("repl", sh.Repl(3))
	out("repl_s", c.Bit(7).Repl(4))
	out("mux_s", hdl.Mux(a.Bit(0), c, d.Shr(1)))
	out("mux_u", hdl.Mux(c.Lt(d), a.Shr(4), b))
	out("sext_u", hdl.SExt(a, 12))
	out("zext_s", hdl.ZExt(c, 12))
	out("ext_s", c.Ext(12))
	out("ext_u", a.Ext(12))
	out("trunc_u", a.Trunc(5))
	out("trunc_s", c.Trunc(5))
	out("trunc_ext", c.Add(d).Trunc(6).Ext(10))
	out("cast_s", a.AsSigned())
	out("cast_u", c.AsUnsigned())
	out("cast_ext", a.AsSigned().Ext(10))
	out("resize", w.Trunc(20).Add(c.Ext(20)))
	out("reduce", hdl.Cat(a.AnyBits(), a.AllBits(), a.XorBits(), c.AnyBits(), c.AllBits(), c.XorBits()))
	out("lnot", hdl.Cat(a.LogicalNot(), a.Bit(3).LogicalNot()))
	out("wide", w.Add(w.Shr(3).Ext(70)).Sub(m.Const(-(1<<62), hdl.S(64)).Ext(71)))
	prod := c.Mul(d) // shared: printed once as a temporary
	out("shared", hdl.SExt(prod, 20).Add(prod.Shr(4).Ext(20)))
	out("consts", hdl.Cat(m.Lit(0, 1), m.Lit(5, 3), m.Const(-1, hdl.S(4)), m.ConstBig(new(big.Int).Lsh(big.NewInt(1), 69), hdl.U(70))))

	// Statements: a combinational If chain, a Switch with and without
	// default, and clocked registers inside them.
	ifo := m.Output("if_out", hdl.U(8))
	m.If(sel.EqConst(0), func() {
		m.Set(ifo, a)
	}).ElseIf(sel.EqConst(1), func() {
		m.Set(ifo, b)
	}).Else(func() {
		m.Set(ifo, a.Xor(b))
	})
	swo := m.Wire("switch_out", hdl.S(8))
	m.Set(swo, c)
	m.Switch(sel, func(sw *hdl.SwitchBuilder) {
		sw.Case([]int64{0}, func() { m.Set(swo, d) })
		sw.Case([]int64{1, 2}, func() { m.Set(swo, c.And(d)) })
	})
	out("switch_out_q", swo)
	swd := m.Output("switch_def", hdl.U(4))
	m.Switch(sh, func(sw *hdl.SwitchBuilder) {
		sw.Case([]int64{7}, func() { m.Set(swd, m.Lit(1, 4)) })
		sw.Default(func() { m.Set(swd, sh.Ext(4)) })
	})
	acc := m.RegOutput("acc", hdl.S(16), hdl.ResetTo(-5))
	hold := m.Reg("reg", hdl.U(8)) // a keyword, no reset
	m.Set(hold, a)
	m.If(sel.Bit(1), func() {
		m.Switch(sel.Bit(0), func(sw *hdl.SwitchBuilder) {
			sw.Case([]int64{1}, func() { m.Set(acc, acc.Add(c.Mul(d)).Trunc(16)) })
			sw.Default(func() { m.Set(acc, acc.Sub(hold.AsSigned().Ext(16)).Trunc(16)) })
		})
	})
	return m
}

func emit(t *testing.T, d *hdl.Design) []gen.VerilogFile {
	t.Helper()
	files, err := gen.EmitVerilog(d, gen.EmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func joinFiles(files []gen.VerilogFile) []byte {
	var b bytes.Buffer
	for _, f := range files {
		b.Write(f.Text)
	}
	return b.Bytes()
}

// TestGolden compares the emitted Verilog of each golden design with
// testdata/<name>.v (go test -update rewrites them), checks that emitting
// twice gives the same bytes, and that the text passes Verilator's lint with
// no warnings, compiles in Icarus and synthesizes in Yosys without latches.
func TestGolden(t *testing.T) {
	for _, gd := range goldenDesigns {
		t.Run(gd.name, func(t *testing.T) {
			t.Parallel()
			d := rtltest.Elaborate(t, gd.build(t))
			files := emit(t, d)
			var names []string
			for _, f := range files {
				names = append(names, f.Name)
			}
			if strings.Join(names, " ") != strings.Join(gd.files, " ") {
				t.Errorf("emitted files %v, want %v", names, gd.files)
			}
			got := joinFiles(files)
			if again := joinFiles(emit(t, rtltest.Elaborate(t, gd.build(t)))); !bytes.Equal(got, again) {
				t.Errorf("emitting a second build gave different bytes:\n%s", firstDiff(got, again))
			}
			if again := joinFiles(emit(t, d)); !bytes.Equal(got, again) {
				t.Errorf("emitting the same design twice gave different bytes:\n%s", firstDiff(got, again))
			}

			golden := filepath.Join("testdata", gd.name+".v")
			if *update {
				must(t, os.WriteFile(golden, got, 0o644))
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./gen -run TestGolden -update to create it, then review it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("emitted Verilog differs from %s (go test ./gen -run TestGolden -update rewrites it):\n%s", golden, firstDiff(want, got))
			}

			rtltest.CheckTools(t, rtltest.Emit(t, d))
		})
	}
}

// firstDiff shows the first line where two texts differ, with context.
func firstDiff(want, got []byte) string {
	wl := strings.Split(string(want), "\n")
	gl := strings.Split(string(got), "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g || i >= len(wl) || i >= len(gl) {
			return fmt.Sprintf("line %d:\n  want: %q\n  got:  %q", i+1, w, g)
		}
	}
	return "(no line differs)"
}

// TestGoldenFilesHaveDesigns fails on a stale golden file that no design
// produces any more.
func TestGoldenFilesHaveDesigns(t *testing.T) {
	known := map[string]bool{}
	for _, gd := range goldenDesigns {
		known[gd.name+".v"] = true
	}
	entries, err := os.ReadDir("testdata")
	must(t, err)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".v") && !known[e.Name()] {
			t.Errorf("testdata/%s belongs to no golden design", e.Name())
		}
	}
}

// exprConfig sizes one random expression module.
type exprConfig struct {
	name     string
	inputs   []hdl.Shape
	maxWidth int
	exprs    int
	depth    int
	cycles   int
	regs     int // registered copies of the first expressions
}

var exprConfigs = []exprConfig{
	{
		name:     "narrow",
		inputs:   []hdl.Shape{hdl.U(1), hdl.S(1), hdl.U(2), hdl.S(3), hdl.U(4), hdl.S(5), hdl.U(8), hdl.S(8), hdl.U(13), hdl.S(16)},
		maxWidth: 16, exprs: 160, depth: 4, cycles: 80, regs: 4,
	},
	{
		name: "wide",
		inputs: []hdl.Shape{hdl.U(1), hdl.S(1), hdl.U(3), hdl.S(4), hdl.U(7), hdl.S(8), hdl.U(16), hdl.S(17),
			hdl.U(32), hdl.S(33), hdl.U(64), hdl.S(65), hdl.U(70), hdl.S(70)},
		maxWidth: 70, exprs: 160, depth: 4, cycles: 80, regs: 4,
	},
}

// exprModule is a module whose outputs are random expressions of its inputs.
type exprModule struct {
	m      *hdl.Module
	inputs []*hdl.Signal
	exprs  []*hdl.Expr   // out_<i> = exprs[i]
	regs   []*hdl.Signal // reg_<i> holds exprs[i] of the previous cycle
}

func buildExprModule(cfg exprConfig, s uint64) *exprModule {
	r := rand.New(rand.NewPCG(s, uint64(len(cfg.name))))
	m := hdl.NewModule("expr_" + cfg.name)
	em := &exprModule{m: m}
	var ins []*hdl.Expr
	for i, sh := range cfg.inputs {
		in := m.Input(fmt.Sprintf("in_%d_%s", i, sh), sh)
		ins = append(ins, in)
		em.inputs = append(em.inputs, in.Signal())
	}
	g := &rtltest.ExprGen{M: m, R: r, Inputs: ins, MaxWidth: cfg.maxWidth}
	for i := 0; i < cfg.exprs; i++ {
		e := g.Expr(1 + r.IntN(cfg.depth))
		em.exprs = append(em.exprs, e)
		m.Set(m.Output(fmt.Sprintf("out_%d", i), e.Shape()), e)
	}
	for i := 0; i < cfg.regs; i++ {
		q := m.RegOutput(fmt.Sprintf("reg_%d", i), em.exprs[i].Shape())
		m.Set(q, em.exprs[i])
		em.regs = append(em.regs, q.Signal())
	}
	// Every input reaches an output, so none is unused.
	m.Set(m.Output("out_inputs", hdl.U(sumWidths(ins))), hdl.Cat(ins...))
	return em
}

func sumWidths(es []*hdl.Expr) int {
	w := 0
	for _, e := range es {
		w += e.Width()
	}
	return w
}

// TestEmitMatchesEval is the main guard of the emitter's width and sign
// handling: modules of random expressions (every operator, widths 1..70,
// signed and unsigned) run in both simulators on random inputs, and every
// output in every cycle must equal hdl.Eval of its expression. A failure
// prints the seed; -seed reproduces it.
func TestEmitMatchesEval(t *testing.T) {
	sims := rtltest.Simulators(t)
	for _, cfg := range exprConfigs {
		t.Run(cfg.name, func(t *testing.T) {
			t.Parallel()
			s := *seed
			rerun := fmt.Sprintf("seed %d (rerun: go test ./gen -run 'TestEmitMatchesEval/%s' -seed %d)", s, cfg.name, s)
			em := buildExprModule(cfg, s)
			d, err := hdl.Elaborate(em.m)
			if err != nil {
				t.Fatalf("%s: the generator built an invalid module:\n%v", rerun, err)
			}
			e := rtltest.Emit(t, d)
			// Random expressions compare constants with values that cannot
			// reach them (u < 0); Verilator rightly calls those constant.
			if err := rtltest.LintVerilator(e.Top, e.Paths, "UNSIGNED", "CMPCONST"); err != nil {
				t.Errorf("%s: %v", rerun, err)
			}
			top := e.VerifyTop()

			r := rand.New(rand.NewPCG(s, 99))
			vectors := make([]map[*hdl.Signal]*big.Int, cfg.cycles)
			stim := &sim.Stimulus{Cycles: cfg.cycles, Trace: true}
			for c := range vectors {
				vectors[c] = map[*hdl.Signal]*big.Int{}
				for _, in := range em.inputs {
					v := rtltest.RandValue(r, in.Shape())
					vectors[c][in] = v
					stim.Changes = append(stim.Changes, sim.Change{Cycle: c, Port: in.Name(), Value: v})
				}
			}
			zero := func(*hdl.Signal) *big.Int { return new(big.Int) }
			for _, sim := range sims {
				t.Run(sim.Name(), func(t *testing.T) {
					res, err := rtltest.Run(t, sim, top, stim)
					if err != nil {
						t.Fatalf("%s: %v", rerun, err)
					}
					bad := 0
					report := func(c int, name string, x *hdl.Expr, got, want *big.Int, env func(*hdl.Signal) *big.Int) {
						bad++
						if bad > 8 {
							return
						}
						var ins []string
						hdl.WalkExpr(x, func(s *hdl.Signal) { ins = append(ins, fmt.Sprintf("%s=%#x", s.Name(), env(s))) })
						t.Errorf("%s: cycle %d: %s = %#x, want %#x\n  expr: %s\n  inputs: %s",
							rerun, c, name, got, want, rtltest.Describe(x), strings.Join(dedup(ins), " "))
					}
					for c, outs := range res.Outputs {
						env := func(s *hdl.Signal) *big.Int { return vectors[c][s] }
						for i, x := range em.exprs {
							name := fmt.Sprintf("out_%d", i)
							if want := hdl.Eval(x, env); outs[name].Cmp(want) != 0 {
								report(c, name, x, outs[name], want, env)
							}
						}
						prev := zero
						if c > 0 {
							prev = func(s *hdl.Signal) *big.Int { return vectors[c-1][s] }
						}
						for i, q := range em.regs {
							if want := hdl.Eval(em.exprs[i], prev); outs[q.Name()].Cmp(want) != 0 {
								report(c, q.Name(), em.exprs[i], outs[q.Name()], want, prev)
							}
						}
					}
					if bad > 0 {
						t.Errorf("%s: %d mismatches in %d cycles of %d expressions", rerun, bad, len(res.Outputs), len(em.exprs))
					}
				})
			}
		})
	}
}

func dedup(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// TestMemoryInfersRAM checks that an hdl Memory reaches Yosys as a memory
// (one $mem_v2 cell for the array with its ports) rather than as loose
// flip-flops, so synthesis can map it to block RAM.
func TestMemoryInfersRAM(t *testing.T) {
	rtltest.RequireTools(t, "yosys")
	d := rtltest.Elaborate(t, memoryModule())
	e := rtltest.Emit(t, d)
	script := "read_verilog " + strings.Join(e.Paths, " ") + "; synth -top mem_rw -run begin:fine; tee -o /dev/stdout stat"
	out, err := exec.Command("yosys", "-q", "-p", script).CombinedOutput()
	if err != nil {
		t.Fatalf("yosys: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "$mem_v2"); n != 1 {
		t.Errorf("yosys found %d $mem_v2 cells, want the one memory inferred as RAM:\n%s", n, out)
	}
}

// TestInstanceReset checks that an instance bound with Reset takes that
// expression on its reset port while its sibling keeps the parent's rst,
// and that the text is lint-clean.
func TestInstanceReset(t *testing.T) {
	sub := hdl.NewModule("cnt")
	q := sub.RegOutput("q", hdl.U(4), hdl.ResetTo(0))
	sub.Set(q, q.Add(sub.Lit(1, 1)).Trunc(4))
	m := hdl.NewModule("top")
	clear := m.Input("clear", hdl.U(1))
	y0, y1 := m.Output("y0", hdl.U(4)), m.Output("y1", hdl.U(4))
	held := m.Reg("held", hdl.U(1), hdl.ResetTo(0))
	m.Set(held, clear)
	a, b := m.Instance("a", sub), m.Instance("b", sub)
	b.Reset(m.ResetSignal().Expr().Or(held))
	m.Set(y0, a.Out(q))
	m.Set(y1, b.Out(q))
	d, err := hdl.Elaborate(m)
	if err != nil {
		t.Fatal(err)
	}
	text := string(joinFiles(emit(t, d)))
	for _, want := range []string{"    cnt a (\n        .clk(clk),\n        .rst(rst),", "    cnt b (\n        .clk(clk),\n        .rst((rst | held)),"} {
		if !strings.Contains(text, want) {
			t.Errorf("emitted Verilog lacks %q:\n%s", want, text)
		}
	}
	e := rtltest.Emit(t, d)
	if err := rtltest.LintVerilator(e.Top, e.Paths); err != nil {
		t.Error(err)
	}
}
