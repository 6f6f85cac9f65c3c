package hdl

import "math/big"

// Memory is an array of words with synchronous read ports and clocked writes,
// written so that Yosys infers RAM.
type Memory struct {
	name  string
	shape Shape
	depth int
	init  []*big.Int
	pos   Pos
	m     *Module
	reads []*ReadPort
}

// ReadPort is a synchronous read: Data is a register loaded with mem[Addr] on
// every clock edge where En is 1 (En nil: every edge).
type ReadPort struct {
	Data *Signal
	Addr *Expr
	En   *Expr
	Pos  Pos
}

// Name returns the memory's name.
func (mem *Memory) Name() string { return mem.name }

// Shape returns the word shape.
func (mem *Memory) Shape() Shape { return mem.shape }

// Depth returns the number of words.
func (mem *Memory) Depth() int { return mem.depth }

// AddrWidth returns the address width: ceil(log2(depth)), at least 1.
func (mem *Memory) AddrWidth() int {
	if w := Clog2(mem.depth); w > 0 {
		return w
	}
	return 1
}

// Init returns the initial contents (bit patterns), or nil.
func (mem *Memory) Init() []*big.Int { return mem.init }

// Reads returns the read ports.
func (mem *Memory) Reads() []*ReadPort { return mem.reads }

// Memory declares a memory of depth words. init, if non-nil, gives the initial
// contents (at most depth values, each must fit the shape).
func (m *Module) Memory(name string, s Shape, depth int, init []int64) *Memory {
	pos := callerPos()
	mem := &Memory{name: name, shape: s, depth: depth, pos: pos, m: m}
	if depth < 1 {
		m.errorf(pos, "build", "memory %q: depth %d must be at least 1", name, depth)
		mem.depth = 1
	}
	if !validIdent(name) {
		m.errorf(pos, "build", "memory name %q is not a valid identifier", name)
	}
	if len(init) > mem.depth {
		m.errorf(pos, "build", "memory %q: %d initial values for depth %d", name, len(init), depth)
		init = init[:mem.depth]
	}
	for i, v := range init {
		bv := big.NewInt(v)
		if !fits(bv, s) {
			m.errorf(pos, "build", "memory %q: initial value %d at %d does not fit %s", name, v, i, s)
		}
		mem.init = append(mem.init, pattern(bv, s.Width))
	}
	m.ensureClock()
	m.mems = append(m.mems, mem)
	return mem
}

// Read adds a synchronous read port; the returned register holds mem[addr]
// one cycle after addr is presented (and en, if not nil, is 1).
func (mem *Memory) Read(name string, addr, en *Expr) *Expr {
	pos := callerPos()
	sig := mem.m.newSignal(name, Reg, mem.shape, pos)
	sig.reg = true
	sig.mem = mem
	if addr.Width() != mem.AddrWidth() || addr.Signed() {
		mem.m.errorf(pos, "widths", "memory %q read address is %s, want u%d", mem.name, addr.shape, mem.AddrWidth())
	}
	if en != nil && en.Width() != 1 {
		mem.m.errorf(pos, "widths", "memory %q read enable is %s, want u1", mem.name, en.shape)
	}
	mem.reads = append(mem.reads, &ReadPort{Data: sig, Addr: addr, En: en, Pos: pos})
	return sig.ref
}

// Write stores data at addr on the clock edge, in the current If/Switch context.
func (mem *Memory) Write(addr, data *Expr) {
	pos := callerPos()
	if addr.Width() != mem.AddrWidth() || addr.Signed() {
		mem.m.errorf(pos, "widths", "memory %q write address is %s, want u%d", mem.name, addr.shape, mem.AddrWidth())
	}
	if data.Width() != mem.shape.Width {
		mem.m.errorf(pos, "widths", "memory %q write data is %s, want %s", mem.name, data.shape, mem.shape)
	}
	mem.m.emit(&Stmt{Kind: StmtMemWrite, Pos: pos, Mem: mem, Addr: addr, Data: data})
}
