package hdl

import (
	"fmt"
	"math/big"
	"strings"
)

// Kind says what a signal is.
type Kind int

const (
	Input Kind = iota
	Output
	Wire
	Reg
)

func (k Kind) String() string {
	return [...]string{"input", "output", "wire", "reg"}[k]
}

// Signal is a named value in a module: a port, a wire or a register.
// Outputs are combinational unless made registered with RegOutput.
type Signal struct {
	name  string
	kind  Kind
	reg   bool // updated on the clock edge (Reg, or an Output made with RegOutput)
	shape Shape
	reset *big.Int // nil: no reset value
	keep  bool     // synthesis keeps the register's output net (SynthKeep)
	pos   Pos
	ref   *Expr
	m     *Module
	mem   *Memory // read-data register of a memory read port, if any
}

// Name returns the signal's name in the module.
func (s *Signal) Name() string { return s.name }

// Kind returns input, output, wire or reg.
func (s *Signal) Kind() Kind { return s.kind }

// IsReg reports whether the signal is updated on the clock edge.
func (s *Signal) IsReg() bool { return s.reg }

// Shape returns the signal's shape.
func (s *Signal) Shape() Shape { return s.shape }

// Reset returns the reset value's bit pattern, or nil when the register has none.
func (s *Signal) Reset() *big.Int { return s.reset }

// Kept reports whether synthesis is asked to keep the signal's net.
func (s *Signal) Kept() bool { return s.keep }

// Pos returns where the signal was declared.
func (s *Signal) Pos() Pos { return s.pos }

// Expr returns the signal as an expression.
func (s *Signal) Expr() *Expr { return s.ref }

// Module is a hardware module under construction. Build it with the methods
// below; Elaborate checks it.
type Module struct {
	name      string
	pos       Pos
	signals   []*Signal
	byName    map[string]*Signal
	body      []*Stmt
	stack     []*[]*Stmt // where Set appends: the body or the current branch
	mems      []*Memory
	instances []*Instance
	diags     *Diagnostics
	clock     *Signal
	reset     *Signal
	comments  []string
}

// NewModule starts a module. The name must be a valid identifier.
func NewModule(name string) *Module {
	m := &Module{name: name, pos: callerPos(), byName: map[string]*Signal{}, diags: &Diagnostics{}}
	m.stack = []*[]*Stmt{&m.body}
	if !validIdent(name) {
		m.errorf(m.pos, "build", "module name %q is not a valid identifier", name)
	}
	return m
}

// Name returns the module name.
func (m *Module) Name() string { return m.name }

// Pos returns where the module was created.
func (m *Module) Pos() Pos { return m.pos }

// Comment adds a line to the module's header comment.
func (m *Module) Comment(format string, a ...any) {
	m.comments = append(m.comments, fmt.Sprintf(format, a...))
}

// Comments returns the header comment lines.
func (m *Module) Comments() []string { return m.comments }

// Signals returns every signal in declaration order (ports first as declared).
func (m *Module) Signals() []*Signal { return m.signals }

// Ports returns the inputs and outputs in declaration order, clock and reset first.
func (m *Module) Ports() []*Signal {
	var ps []*Signal
	if m.clock != nil {
		ps = append(ps, m.clock)
	}
	if m.reset != nil {
		ps = append(ps, m.reset)
	}
	for _, s := range m.signals {
		if (s.kind == Input || s.kind == Output) && s != m.clock && s != m.reset {
			ps = append(ps, s)
		}
	}
	return ps
}

// Body returns the top-level statements.
func (m *Module) Body() []*Stmt { return m.body }

// Memories returns the module's memories.
func (m *Module) Memories() []*Memory { return m.mems }

// Instances returns the submodule instances.
func (m *Module) Instances() []*Instance { return m.instances }

// Clock returns the clock input, created when the module first needs one.
func (m *Module) Clock() *Signal { return m.clock }

// ResetSignal returns the synchronous active-high reset input, if any.
func (m *Module) ResetSignal() *Signal { return m.reset }

func (m *Module) errorf(pos Pos, pass, format string, a ...any) {
	*m.diags = append(*m.diags, Diagnostic{Pos: pos, Severity: Error, Pass: pass, Msg: fmt.Sprintf(format, a...)})
}

func (m *Module) newSignal(name string, kind Kind, s Shape, pos Pos) *Signal {
	sig := &Signal{name: name, kind: kind, shape: s, pos: pos, m: m}
	sig.ref = &Expr{op: OpSignal, shape: s, sig: sig, pos: pos, m: m}
	if s.Width < 1 {
		m.errorf(pos, "build", "signal %q: width %d must be at least 1", name, s.Width)
		sig.shape.Width = 1
		sig.ref.shape.Width = 1
	}
	if !validIdent(name) {
		m.errorf(pos, "build", "signal name %q is not a valid identifier", name)
	}
	if prev, dup := m.byName[name]; dup {
		m.errorf(pos, "build", "signal %q already declared at %s", name, prev.pos)
	}
	m.byName[name] = sig
	m.signals = append(m.signals, sig)
	return sig
}

func (m *Module) ensureClock() {
	if m.clock == nil {
		m.clock = m.newSignal("clk", Input, U(1), m.pos)
	}
}

func (m *Module) ensureReset() {
	m.ensureClock()
	if m.reset == nil {
		m.reset = m.newSignal("rst", Input, U(1), m.pos)
	}
}

// Input declares an input port.
func (m *Module) Input(name string, s Shape) *Expr {
	return m.newSignal(name, Input, s, callerPos()).ref
}

// Output declares a combinational output port.
func (m *Module) Output(name string, s Shape) *Expr {
	return m.newSignal(name, Output, s, callerPos()).ref
}

// RegOutput declares an output port that is a register (Set on it is clocked).
func (m *Module) RegOutput(name string, s Shape, opts ...RegOption) *Expr {
	sig := m.newSignal(name, Output, s, callerPos())
	m.makeReg(sig, opts)
	return sig.ref
}

// Wire declares a combinational signal.
func (m *Module) Wire(name string, s Shape) *Expr {
	return m.newSignal(name, Wire, s, callerPos()).ref
}

// RegOption configures a register.
type RegOption func(*Signal)

// ResetTo gives a register a synchronous reset value.
func ResetTo(v int64) RegOption {
	return func(s *Signal) {
		if !fits(big.NewInt(v), s.shape) {
			s.m.errorf(s.pos, "build", "reset value %d does not fit register %q of shape %s", v, s.name, s.shape)
		}
		s.reset = pattern(big.NewInt(v), s.shape.Width)
	}
}

// SynthKeep asks synthesis to keep the register's output net (a keep
// attribute), so that no optimization merges it into a neighbouring cell.
// Simulation ignores it.
func SynthKeep() RegOption {
	return func(s *Signal) { s.keep = true }
}

// Reg declares a register updated on the rising clock edge. Without ResetTo it
// has no reset (cheaper datapath registers; Icarus shows them as x until written).
func (m *Module) Reg(name string, s Shape, opts ...RegOption) *Expr {
	sig := m.newSignal(name, Reg, s, callerPos())
	m.makeReg(sig, opts)
	return sig.ref
}

func (m *Module) makeReg(sig *Signal, opts []RegOption) {
	sig.reg = true
	m.ensureClock()
	for _, o := range opts {
		o(sig)
	}
	if sig.reset != nil {
		m.ensureReset()
	}
}

// StmtKind says what a statement is.
type StmtKind int

const (
	StmtSet StmtKind = iota
	StmtIf
	StmtSwitch
	StmtMemWrite
)

// Stmt is one statement: an assignment, an if chain, a switch or a memory write.
type Stmt struct {
	Kind StmtKind
	Pos  Pos

	// StmtSet
	Dst *Signal
	Src *Expr

	// StmtIf: Conds[i] guards Blocks[i]; a final extra block is the else.
	// StmtSwitch: Subject, Cases[i] values guard Blocks[i]; a final extra block is the default.
	Conds   []*Expr
	Blocks  [][]*Stmt
	HasElse bool
	Subject *Expr
	Cases   [][]*big.Int

	// StmtMemWrite
	Mem  *Memory
	Addr *Expr
	Data *Expr
}

func (m *Module) emit(s *Stmt) {
	top := m.stack[len(m.stack)-1]
	*top = append(*top, s)
}

// Set assigns src to dst in the current context: combinational for wires and
// outputs (later assignments override earlier ones on the same path), clocked
// for registers. Shapes must match exactly.
func (m *Module) Set(dst, src *Expr) {
	pos := callerPos()
	if dst.op != OpSignal {
		m.errorf(pos, "build", "assignment target is not a signal")
		return
	}
	if dst.sig.m != m {
		m.errorf(pos, "build", "signal %q belongs to module %q, not %q", dst.sig.name, dst.sig.m.name, m.name)
		return
	}
	m.emit(&Stmt{Kind: StmtSet, Pos: pos, Dst: dst.sig, Src: src})
}

func (m *Module) block(f func()) []*Stmt {
	var b []*Stmt
	m.stack = append(m.stack, &b)
	f()
	m.stack = m.stack[:len(m.stack)-1]
	return b
}

// IfChain is returned by If so ElseIf and Else can extend it.
type IfChain struct {
	m *Module
	s *Stmt
}

// If runs then's assignments when cond (1 bit) is 1.
func (m *Module) If(cond *Expr, then func()) *IfChain {
	s := &Stmt{Kind: StmtIf, Pos: callerPos()}
	m.emit(s)
	s.Conds = append(s.Conds, cond)
	s.Blocks = append(s.Blocks, m.block(then))
	return &IfChain{m: m, s: s}
}

// ElseIf adds a branch.
func (c *IfChain) ElseIf(cond *Expr, then func()) *IfChain {
	if c.s.HasElse {
		c.m.errorf(callerPos(), "build", "ElseIf after Else")
		return c
	}
	c.s.Conds = append(c.s.Conds, cond)
	c.s.Blocks = append(c.s.Blocks, c.m.block(then))
	return c
}

// Else adds the final branch.
func (c *IfChain) Else(f func()) {
	if c.s.HasElse {
		c.m.errorf(callerPos(), "build", "second Else")
		return
	}
	c.s.HasElse = true
	c.s.Blocks = append(c.s.Blocks, c.m.block(f))
}

// SwitchBuilder collects the cases of a Switch.
type SwitchBuilder struct {
	m *Module
	s *Stmt
}

// Switch starts a case statement on subject.
func (m *Module) Switch(subject *Expr, cases func(sw *SwitchBuilder)) {
	s := &Stmt{Kind: StmtSwitch, Pos: callerPos(), Subject: subject}
	m.emit(s)
	cases(&SwitchBuilder{m: m, s: s})
}

// Case adds a branch taken when the subject equals any of values.
func (sw *SwitchBuilder) Case(values []int64, f func()) {
	pos := callerPos()
	if sw.s.HasElse {
		sw.m.errorf(pos, "build", "Case after Default")
		return
	}
	var vs []*big.Int
	for _, v := range values {
		bv := big.NewInt(v)
		if !fits(bv, sw.s.Subject.shape) {
			sw.m.errorf(pos, "build", "case value %d does not fit switch subject %s", v, sw.s.Subject.shape)
		}
		vs = append(vs, pattern(bv, sw.s.Subject.Width()))
	}
	sw.s.Cases = append(sw.s.Cases, vs)
	sw.s.Blocks = append(sw.s.Blocks, sw.m.block(f))
}

// Default adds the branch taken when no case matches.
func (sw *SwitchBuilder) Default(f func()) {
	if sw.s.HasElse {
		sw.m.errorf(callerPos(), "build", "second Default")
		return
	}
	sw.s.HasElse = true
	sw.s.Blocks = append(sw.s.Blocks, sw.m.block(f))
}

// keywords holds the words reserved in Verilog-2005, plus the SystemVerilog
// keywords Verilator reserves even in Verilog mode; names that collide are escaped.
const keywords = " always and assign automatic begin buf bufif0 bufif1 case casex casez cell cmos config deassign default defparam design disable edge else end endcase endconfig endfunction endgenerate endmodule endprimitive endspecify endtable endtask event for force forever fork function generate genvar highz0 highz1 if ifnone incdir include initial inout input instance integer join large liblist library localparam macromodule medium module nand negedge nmos nor noshowcancelled not notif0 notif1 or output parameter pmos posedge primitive pull0 pull1 pulldown pullup pulsestyle_onevent pulsestyle_ondetect rcmos real realtime reg release repeat rnmos rpmos rtran rtranif0 rtranif1 scalared showcancelled signed small specify specparam strong0 strong1 supply0 supply1 table task time tran tranif0 tranif1 tri tri0 tri1 triand trior trireg unsigned use uwire vectored wait wand weak0 weak1 while wire wor xnor xor bit byte logic int shortint longint type void struct union enum class interface package program property sequence string this super virtual static const final assert assume cover restrict break continue return do foreach inside unique priority alias bind chandle clocking constraint context dist expect export extends extern forkjoin iff ignore_bins illegal_bins import intersect join_any join_none local matches modport new null packed protected pure rand randc randcase randsequence ref solve tagged throughout timeprecision timeunit typedef var wait_order wildcard with within "

// IsKeyword reports whether name is reserved in Verilog or SystemVerilog.
func IsKeyword(name string) bool { return strings.Contains(keywords, " "+name+" ") }

func validIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
