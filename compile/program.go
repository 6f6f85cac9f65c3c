package compile

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/core"
	"github.com/tpugen/tpugen/quant"
)

// Program is a whole network compiled for the core, for one batch: a list
// of segments. Each segment is a core program (ending in halt) and the host
// ops that run after it; the core's state (unified buffer, weight memory,
// parameter sets) persists from one segment to the next, so tensors the
// host does not need never leave the chip. Ops without hardware (grouped
// convolution, add, flatten, softmax, unfused pooling) are host steps
// between segments: the segment before writes their inputs to the host
// (write_host), the segment after reads their outputs back (read_host).
// A network with no host op is one segment; a flatten that only fully
// connected layers read is no host op (their weights are permuted to read
// the map in place), so LeNet is one segment and a softmax on the host.
type Program struct {
	Config   core.Config
	Net      *Network
	Batch    int
	Segments []*Segment
	// UBPeak is the most unified-buffer bytes live at once.
	UBPeak int
}

// Segment is one run of the core and the host ops after it.
type Segment struct {
	Insts []core.Inst
	// In is the host input stream the segment consumes, in order.
	In []Chunk
	// Out is what the segment writes to the host, in order.
	Out []Transfer
	// Host runs after the core halts.
	Host []*Op
}

// Chunk is part of the host input stream: bytes [Off, Off+Len) of a
// tensor's value for the whole batch (Tensor set) or constant bytes
// (weights, parameter blocks).
type Chunk struct {
	Tensor   string
	Off, Len int
	Data     []byte
}

// Transfer is a tensor the core writes to the host.
type Transfer struct {
	Tensor string
	Shape  quant.Shape // of the batch
}

// Words encodes the segment's instructions.
func (s *Segment) Words() ([]core.Word, error) {
	var words []core.Word
	for _, in := range s.Insts {
		w, err := in.Encode()
		if err != nil {
			return nil, err
		}
		words = append(words, w)
	}
	return words, nil
}

// Text is the program in assembly, segments and host steps as comments.
func (p *Program) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s, batch %d: %d segments\n", p.Net.Name, p.Batch, len(p.Segments))
	for i, s := range p.Segments {
		fmt.Fprintf(&b, "# segment %d\n", i)
		for _, in := range s.Insts {
			b.WriteString(in.String())
			b.WriteByte('\n')
		}
		for _, o := range s.Host {
			fmt.Fprintf(&b, "# host: %s %s (%s)\n", o.Kind, o.Name, o.Describe())
		}
	}
	return b.String()
}

// Instructions counts the instructions of every segment.
func (p *Program) Instructions() int {
	n := 0
	for _, s := range p.Segments {
		n += len(s.Insts)
	}
	return n
}

// ubAlloc is a first-fit allocator over the unified buffer.
type ubAlloc struct {
	size int
	used map[string][2]int // tensor → [addr, bytes]
}

func (a *ubAlloc) alloc(name string, n int) (int, bool) {
	var spans [][2]int
	for _, s := range a.used {
		spans = append(spans, s)
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
	at := 0
	for _, s := range spans {
		if s[0]-at >= n {
			break
		}
		at = max(at, s[0]+s[1])
	}
	if at+n > a.size {
		return 0, false
	}
	a.used[name] = [2]int{at, n}
	return at, true
}

func (a *ubAlloc) live() int {
	n := 0
	for _, s := range a.used {
		n += s[1]
	}
	return n
}

// CompileProgram compiles net for a batch of images onto the core: every
// tensor a hardware layer reads or writes gets a unified-buffer region
// (reused once the tensor is dead), every layer pass its weights (double
// buffered in the weight memory when two passes fit) and parameter sets.
// A network that cannot fit the configured buffers is refused with one
// line saying what to enlarge.
func CompileProgram(cfg core.Config, net *Network, batch int) (*Program, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if batch < 1 {
		return nil, fmt.Errorf("program: batch %d must be at least 1", batch)
	}
	if err := net.Check(); err != nil {
		return nil, err
	}
	c := &programCompiler{cfg: cfg, net: net, batch: batch,
		prog:    &Program{Config: cfg, Net: net, Batch: batch},
		ub:      &ubAlloc{size: cfg.UBBytes, used: map[string][2]int{}},
		onChip:  map[string]bool{},
		onHost:  map[string]bool{net.Input: true},
		shapes:  map[string]quant.Shape{},
		lastUse: map[string]int{},
		unread:  map[string]*hostRead{},
	}
	s := net.Tensors[net.Input].Shape
	s.N = batch
	c.shapes[net.Input] = s
	c.foldFlattens()
	for i, op := range net.Ops {
		if c.onCore(op) {
			for _, in := range op.Inputs {
				c.lastUse[c.resolve(in)] = i
			}
		}
	}
	c.newSegment()
	for i, op := range net.Ops {
		var err error
		if c.onCore(op) {
			err = c.layer(i, op)
		} else {
			err = c.host(op)
		}
		if err != nil {
			return nil, fmt.Errorf("program %s: op %s (%s): %w", net.Name, op.Name, op.Describe(), err)
		}
		c.free(i)
	}
	if !c.onHost[net.Output] {
		c.writeHost(net.Output)
	}
	for _, seg := range c.prog.Segments {
		seg.Insts = append(seg.Insts, core.MustNew(core.OpHalt, nil))
	}
	return c.prog, nil
}

type programCompiler struct {
	cfg     core.Config
	net     *Network
	batch   int
	prog    *Program
	seg     *Segment
	ub      *ubAlloc
	onChip  map[string]bool
	onHost  map[string]bool
	shapes  map[string]quant.Shape // of the batch
	lastUse map[string]int         // last hardware op reading the tensor
	// folded maps the output of a flatten that only fully connected layers
	// read to the flattened tensor: the layers' weights are permuted to
	// read it in place (NHWC), so the flatten needs no host step.
	folded map[string]string
	passes int
	// The accumulators are used in two halves when a pass's unit of work
	// fits in one: an instruction pair (MATMUL/CONVOLVE then ACTIVATE)
	// writes one half while the previous pair's ACTIVATE drains the other.
	acc, accTurn int
	halves       bool
	// unread holds the tensors read from the host piece by piece: the
	// bytes up to the value are in the unified buffer, each read just
	// before the first instruction that needs it, so reads run while the
	// instructions before compute.
	unread map[string]*hostRead
	// setBase is the parameter set of the next pass's first lane tile:
	// sets rotate over the program, so a pass's first parameter load
	// goes into a set the layer before no longer reads, while its last
	// instruction still runs.
	setBase int
}

// accRows is the accumulator rows one instruction pair may use for a pass
// whose unit of work is unit rows, and chooses halves when it fits in one.
func (c *programCompiler) accRows(unit int) int {
	depth := c.cfg.Arch.AccDepth
	c.halves = unit <= depth/2
	if c.halves {
		return depth / 2
	}
	return depth
}

// turnAcc picks the accumulator rows of the next instruction pair.
func (c *programCompiler) turnAcc() {
	c.acc = 0
	if c.halves {
		c.acc = c.accTurn % 2 * (c.cfg.Arch.AccDepth / 2)
		c.accTurn++
	}
}

func (c *programCompiler) newSegment() {
	c.seg = &Segment{}
	c.prog.Segments = append(c.prog.Segments, c.seg)
}

func (c *programCompiler) emit(op core.Opcode, vals map[string]int64) error {
	in, err := core.New(op, vals)
	if err != nil {
		return err
	}
	c.seg.Insts = append(c.seg.Insts, in)
	return nil
}

func (c *programCompiler) allocate(name string, n int) (int, error) {
	addr, ok := c.ub.alloc(name, n)
	if !ok {
		need := c.ub.live() + n
		return 0, fmt.Errorf("tensor %s needs %d bytes of unified buffer with %d live: enlarge the unified buffer (ub_bytes %d) to at least %d",
			name, n, c.ub.live(), c.cfg.UBBytes, need)
	}
	c.prog.UBPeak = max(c.prog.UBPeak, c.ub.live())
	return addr, nil
}

// free releases the regions of tensors no later op needs on chip: no
// later hardware op reads them, and the host has them or never will.
func (c *programCompiler) free(i int) {
	for name := range c.ub.used {
		if last, ok := c.lastUse[name]; ok && last > i {
			continue
		}
		if !c.onHost[name] && (name == c.net.Output || c.hostReadsAfter(name, i)) {
			continue
		}
		delete(c.ub.used, name)
		delete(c.onChip, name)
	}
}

// hostReadsAfter reports whether a host op after op i reads the tensor.
func (c *programCompiler) hostReadsAfter(name string, i int) bool {
	for _, op := range c.net.Ops[i+1:] {
		if c.onCore(op) {
			continue
		}
		for _, in := range op.Inputs {
			if in == name {
				return true
			}
		}
	}
	return false
}

func (c *programCompiler) writeHost(name string) {
	r := c.ub.used[name]
	c.seg.Insts = append(c.seg.Insts, core.MustNew(core.OpWriteHost, map[string]int64{"ub": int64(r[0]), "len": int64(r[1])}))
	c.seg.Out = append(c.seg.Out, Transfer{Tensor: name, Shape: c.shapes[name]})
	c.onHost[name] = true
}

// onCore reports whether the op runs on the core: a hardware layer, or a
// depthwise convolution (one input channel per output channel), which the
// window generator runs lane by lane. The host computes grouped
// convolutions with double rounding, so a core that rounds once leaves
// them there, as the golden network does.
func (c *programCompiler) onCore(op *Op) bool {
	if op.OnHardware() {
		return true
	}
	if op.Kind != OpGroupConv || c.cfg.Arch.Rounding.IsSingle() {
		return false
	}
	l := op.Layer
	in := c.net.Tensors[op.Inputs[0]]
	return l != nil && in != nil && l.Kind == Conv && l.WeightShape.C == 1 && l.WeightShape.N == in.Shape.C && l.Pool == nil &&
		c.cfg.Arch.Activation.Supports(l.Act.Func)
}

// foldFlattens finds the flattens whose outputs only fully connected
// layers read.
func (c *programCompiler) foldFlattens() {
	c.folded = map[string]string{}
	for _, op := range c.net.Ops {
		if op.Kind != OpFlatten || op.Output == c.net.Output {
			continue
		}
		ok := true
		for _, o := range c.net.Ops {
			for _, in := range o.Inputs {
				if in == op.Output && (!o.OnHardware() || o.Layer.Kind != FC) {
					ok = false
				}
			}
		}
		if ok {
			c.folded[op.Output] = op.Inputs[0]
		}
	}
}

func (c *programCompiler) resolve(name string) string {
	if src, ok := c.folded[name]; ok {
		return src
	}
	return name
}

// nhwcWeights permutes a fully connected layer's weights from reading a
// flatten's NCHW order to reading the s-shaped map in place (NHWC).
func nhwcWeights(w []int8, units int, s quant.Shape) []int8 {
	K := s.H * s.W * s.C
	out := make([]int8, len(w))
	for o := 0; o < units; o++ {
		for y := 0; y < s.H; y++ {
			for x := 0; x < s.W; x++ {
				for ch := 0; ch < s.C; ch++ {
					out[o*K+(y*s.W+x)*s.C+ch] = w[o*K+(ch*s.H+y)*s.W+x]
				}
			}
		}
	}
	return out
}

func (c *programCompiler) host(op *Op) error {
	if _, ok := c.folded[op.Output]; ok {
		return nil
	}
	for _, in := range op.Inputs {
		if !c.onHost[in] {
			c.writeHost(in)
		}
	}
	c.seg.Host = append(c.seg.Host, op)
	// The host computes the output; its shape comes from the network.
	s := c.net.Tensors[op.Output].Shape
	s.N = c.batch
	c.shapes[op.Output] = s
	c.onHost[op.Output] = true
	return nil
}

// readHost brings a host tensor into the unified buffer, starting a new
// segment when the host computes it after the current one.
func (c *programCompiler) readHost(name string) (int, error) {
	if len(c.seg.Host) > 0 {
		c.newSegment()
	}
	n := c.shapes[name].Len()
	addr, err := c.allocate(name, n)
	if err != nil {
		return 0, err
	}
	c.onChip[name] = true
	c.unread[name] = &hostRead{addr: addr, n: n}
	return addr, nil
}

// hostRead is a tensor in the unified buffer at addr, n bytes, of which
// the first done have been read from the host.
type hostRead struct{ addr, n, done int }

// need reads the tensor's bytes up to end (of its n) from the host, if a
// piece before end is still unread.
func (c *programCompiler) need(name string, end int) error {
	r := c.unread[name]
	if r == nil || end <= r.done {
		return nil
	}
	end = min(end, r.n)
	c.seg.In = append(c.seg.In, Chunk{Tensor: name, Off: r.done, Len: end - r.done})
	if err := c.emit(core.OpReadHost, map[string]int64{"ub": int64(r.addr + r.done), "len": int64(end - r.done)}); err != nil {
		return err
	}
	r.done = end
	if r.done == r.n {
		delete(c.unread, name)
	}
	return nil
}

func (c *programCompiler) layer(i int, op *Op) error {
	a := c.cfg.Arch
	inName := c.resolve(op.Inputs[0])
	in := c.shapes[inName]
	l := op.Bind(nil, in)
	if inName != op.Inputs[0] {
		if l.Kind != FC || len(l.Weights) != l.WeightShape.N*in.H*in.W*in.C {
			return fmt.Errorf("cannot fold the flatten of %v into %d weights", in, len(l.Weights))
		}
		l.Weights = nhwcWeights(l.Weights, l.WeightShape.N, in)
	}
	if !a.Activation.Supports(l.Act.Func) {
		return fmt.Errorf("activation %v is not in configuration %s (set activation to %q or \"all\")", l.Act.Func, a.Name, l.Act.Func.String())
	}
	if l.Pool != nil && !a.Pool {
		return fmt.Errorf("pooling needs pool: true in configuration %s", a.Name)
	}
	if l.Pool != nil && l.Kind == FC {
		return errors.New("pooling after a fully connected layer has no feature map on the core")
	}
	if l.InputZP < -128 || l.InputZP > 127 {
		return fmt.Errorf("input zero point %d is not int8", l.InputZP)
	}
	out, err := l.OutputShape()
	if err != nil {
		return err
	}
	pre := out // before pooling
	if p := l.Pool; p != nil {
		if p.KH > pre.H || p.KW > pre.W {
			return fmt.Errorf("pooling window %dx%d larger than the %dx%d map", p.KH, p.KW, pre.H, pre.W)
		}
		if pre.W > a.PoolWidth || max(p.KH, p.KW, p.SH, p.SW) > a.PoolWindow {
			return fmt.Errorf("pooling %dx%d/%d over a %dx%d map: raise pool_width (%d) or pool_window (%d)",
				p.KH, p.KW, p.SH, pre.H, pre.W, a.PoolWidth, a.PoolWindow)
		}
		out.H, out.W = (pre.H-p.KH)/p.SH+1, (pre.W-p.KW)/p.SW+1
	}
	if t := c.net.Tensors[op.Output]; t != nil && t.Shape.Len()*c.batch != out.Len() {
		return fmt.Errorf("computes %v, the network declares %s as %v per image", out, op.Output, t.Shape)
	}
	inAddr := 0
	if c.onChip[inName] {
		inAddr = c.ub.used[inName][0]
	} else if inAddr, err = c.readHost(inName); err != nil {
		return err
	}
	outAddr, err := c.allocate(op.Output, out.Len())
	if err != nil {
		return err
	}
	c.onChip[op.Output] = true
	c.shapes[op.Output] = out
	Cout := l.WeightShape.N
	for _, p := range SplitChannels(l, a.Cols*a.ParamSets) {
		if err := c.pass(p, inName, in, pre, out, inAddr, outAddr, Cout); err != nil {
			return err
		}
	}
	return c.need(inName, in.Len()) // the bytes no instruction read
}

func (c *programCompiler) pass(p Pass, inName string, in, pre, out quant.Shape, inAddr, outAddr, Cout int) error {
	a := c.cfg.Arch
	l := p.Layer
	N, K := l.WeightShape.N, len(l.Weights)/l.WeightShape.N
	wbytes := N * K
	waddr := 0
	switch {
	case 2*wbytes <= c.cfg.WeightBytes:
		waddr = (c.passes % 2) * (c.cfg.WeightBytes / 2)
	case wbytes > c.cfg.WeightBytes:
		return fmt.Errorf("a pass of %d channels needs %d bytes of weight memory: enlarge the weight memory (weight_bytes %d) to at least %d",
			N, wbytes, c.cfg.WeightBytes, wbytes)
	}
	c.passes++
	wdata := make([]byte, wbytes)
	for i, w := range l.Weights {
		wdata[i] = byte(w)
	}
	c.seg.In = append(c.seg.In, Chunk{Data: wdata})
	if err := c.emit(core.OpReadWeights, map[string]int64{"waddr": int64(waddr), "len": int64(wbytes)}); err != nil {
		return err
	}
	tiles := (N + a.Cols - 1) / a.Cols
	base := c.setBase
	c.setBase = (c.setBase + tiles) % a.ParamSets
	set := func(t int) int { return (base + t) % a.ParamSets }
	// Each lane tile's parameters load just before its first instruction
	// pair, so the load runs while the pair before computes.
	loaded := make([]bool, tiles)
	inImg := in.H * in.W * in.C
	outImg := out.H * out.W * Cout
	// activate comes before the MATMUL or CONVOLVE whose rows it reads,
	// fused: the core reads the rows out with that instruction's last
	// tile instead of sending them through the array again.
	activate := func(m, lanes, t, fh, fw, out int) error {
		if !loaded[t] {
			loaded[t] = true
			ps := c.paramSet(l, t*a.Cols, min(N, (t+1)*a.Cols), K)
			blk := ps.Bytes(a.Cols)
			if ps.Act != arch.ActTable {
				blk = blk[:core.ParamWordBytes(a.Cols)] // an activation without a table needs none loaded
			}
			c.seg.In = append(c.seg.In, Chunk{Data: blk})
			if err := c.emit(core.OpLoadParams, map[string]int64{"set": int64(set(t)), "len": int64(len(blk))}); err != nil {
				return err
			}
		}
		return c.emit(core.OpActivate, map[string]int64{"acc": int64(c.acc), "m": int64(m), "n": int64(lanes), "set": int64(set(t)),
			"out": int64(out + p.C0 + t*a.Cols), "pitch": int64(Cout), "fh": int64(fh), "fw": int64(fw), "fuse": 1})
	}
	if l.Kind == FC {
		depth := c.accRows(1)
		for r0 := 0; r0 < c.batch; r0 += depth {
			n := min(depth, c.batch-r0)
			for t := 0; t < tiles; t++ {
				c.turnAcc()
				lanes := min(a.Cols, N-t*a.Cols)
				if err := c.need(inName, (r0+n)*K); err != nil {
					return err
				}
				if err := activate(n, lanes, t, 1, 1, outAddr+r0*Cout); err != nil {
					return err
				}
				if err := c.emit(core.OpMatMul, map[string]int64{"ub": int64(inAddr + r0*K), "m": int64(n), "k": int64(K),
					"waddr": int64(waddr + t*a.Cols*K), "n": int64(lanes), "acc": int64(c.acc)}); err != nil {
					return err
				}
			}
		}
		return nil
	}
	g, err := geometry(l, in, pre)
	if err != nil {
		return err
	}
	rows := pre.H * pre.W
	fh, fw := 1, 1
	if l.Pool != nil {
		fh, fw = pre.H, pre.W
	}
	if rows <= a.AccDepth && fh <= a.PoolHeight {
		// Whole maps: as many images per instruction as the accumulators hold.
		per := c.accRows(rows) / rows
		for i0 := 0; i0 < c.batch; i0 += per {
			n := min(per, c.batch-i0)
			for t := 0; t < tiles; t++ {
				c.turnAcc()
				lanes := min(a.Cols, N-t*a.Cols)
				if err := c.need(inName, (i0+n)*inImg); err != nil {
					return err
				}
				if err := activate(n*rows, lanes, t, fh, fw, outAddr+i0*outImg); err != nil {
					return err
				}
				if err := c.convolve(g, inAddr+i0*inImg, n, in.H, g.pt, g.pb, waddr+t*a.Cols*K, lanes, p.C0+t*a.Cols); err != nil {
					return err
				}
			}
		}
		return nil
	}
	// Bands of output rows, one image at a time: the window generator reads
	// the input rows a band needs, padding only at the map's edges. A pooled
	// band holds whole pooling windows (non-overlapping windows only).
	step, limit := 1, pre.H
	if pl := l.Pool; pl != nil {
		if pl.KH != pl.SH {
			return fmt.Errorf("a %dx%d map with overlapping pooling (%dx%d/%d) does not fit: enlarge acc_depth (%d) to at least %d and pool_height (%d) to at least %d",
				pre.H, pre.W, pl.KH, pl.KW, pl.SH, a.AccDepth, rows, a.PoolHeight, pre.H)
		}
		step, limit = pl.SH, out.H*pl.SH
	}
	bh := min(c.accRows(step*pre.W)/pre.W, pre.H)
	if l.Pool != nil {
		bh = min(bh, a.PoolHeight)
	}
	bh -= bh % step
	if bh == 0 {
		return fmt.Errorf("a band of %d output rows of %d pixels needs %d accumulator rows: enlarge acc_depth (%d) to at least %d",
			step, pre.W, step*pre.W, a.AccDepth, step*pre.W)
	}
	for img := 0; img < c.batch; img++ {
		for y0 := 0; y0 < limit; y0 += bh {
			n := min(bh, limit-y0)
			ys := y0*g.sh - g.pt
			ye := (y0+n-1)*g.sh + (g.fh-1)*g.dh - g.pt
			ys1, ye1 := max(0, ys), min(in.H-1, ye)
			if ye1 < ys1 {
				return fmt.Errorf("output rows %d..%d read only padding", y0, y0+n-1)
			}
			if core.ConvOutput(ye1-ys1+1, g.fh, g.sh, g.dh, ys1-ys, ye-ye1) != n {
				return fmt.Errorf("band %d..%d of the window does not give %d rows", y0, y0+n-1, n)
			}
			ub := inAddr + img*inImg + ys1*in.W*in.C
			oaddr, ofh, ofw := outAddr+img*outImg+y0*pre.W*Cout, 1, 1
			if l.Pool != nil {
				oaddr, ofh, ofw = outAddr+img*outImg+(y0/step)*out.W*Cout, n, pre.W
			}
			for t := 0; t < tiles; t++ {
				c.turnAcc()
				lanes := min(a.Cols, N-t*a.Cols)
				if err := c.need(inName, img*inImg+(ye1+1)*in.W*in.C); err != nil {
					return err
				}
				if err := activate(n*pre.W, lanes, t, ofh, ofw, oaddr); err != nil {
					return err
				}
				if err := c.convolve(g, ub, 1, ye1-ys1+1, ys1-ys, ye-ye1, waddr+t*a.Cols*K, lanes, p.C0+t*a.Cols); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// convGeometry is a layer's window on the core.
type convGeometry struct {
	l                      *Layer
	in                     quant.Shape
	fh, fw, sh, sw, dh, dw int
	pt, pb, pl, pr         int
	depthwise              bool
}

func geometry(l *Layer, in, pre quant.Shape) (convGeometry, error) {
	g := convGeometry{l: l, in: in, fh: l.WeightShape.H, fw: l.WeightShape.W, depthwise: l.WeightShape.C == 1 && in.C > 1,
		sh: max(1, l.Window.StrideH), sw: max(1, l.Window.StrideW), dh: max(1, l.Window.DilationH), dw: max(1, l.Window.DilationW)}
	var err error
	if g.pt, g.pl, err = l.Window.LeadingPads(in, g.fh, g.fw); err != nil {
		return g, err
	}
	g.pb = max(0, (pre.H-1)*g.sh+(g.fh-1)*g.dh+1-in.H-g.pt)
	g.pr = max(0, (pre.W-1)*g.sw+(g.fw-1)*g.dw+1-in.W-g.pl)
	if core.ConvOutput(in.H, g.fh, g.sh, g.dh, g.pt, g.pb) != pre.H || core.ConvOutput(in.W, g.fw, g.sw, g.dw, g.pl, g.pr) != pre.W {
		return g, fmt.Errorf("the window %+v does not give the %dx%d map on the core", l.Window, pre.H, pre.W)
	}
	return g, nil
}

// convolve emits a CONVOLVE over images maps of h rows (a band of the
// input when h < in.H) with top and bottom padding pt, pb.
func (c *programCompiler) convolve(g convGeometry, ub, images, h, pt, pb, waddr, lanes, c0 int) error {
	dw := int64(0)
	if g.depthwise {
		dw = 1
	} else {
		c0 = 0
	}
	return c.emit(core.OpConvolve, map[string]int64{"ub": int64(ub), "images": int64(images), "h": int64(h), "w": int64(g.in.W), "c": int64(g.in.C),
		"kh": int64(g.fh), "kw": int64(g.fw), "sh": int64(g.sh), "sw": int64(g.sw), "dh": int64(g.dh), "dw": int64(g.dw),
		"pt": int64(pt), "pb": int64(pb), "pl": int64(g.pl), "pr": int64(g.pr), "zp": int64(g.l.InputZP),
		"waddr": int64(waddr), "n": int64(lanes), "acc": int64(c.acc), "depthwise": dw, "c0": int64(c0)})
}

// paramSet is the parameter set for channels [c0, c1) of a pass: the
// input zero point folded into the bias (bias − zp·Σw), as the matrix unit
// sums raw products and the padding holds the zero point.
func (c *programCompiler) paramSet(l *Layer, c0, c1, K int) *core.ParamSet {
	lo, hi := l.Requant.Range()
	ps := &core.ParamSet{Act: l.Act.Func, Leaky: l.Act.Leaky, Table: l.Act.Table}
	for o := c0; o < c1; o++ {
		var sum int32
		for _, w := range l.Weights[o*K : (o+1)*K] {
			sum += int32(w)
		}
		i := o
		if len(l.Requant.Multipliers) == 1 {
			i = 0
		}
		ps.Lanes = append(ps.Lanes, core.LaneParams{Bias: l.Bias[o] - l.InputZP*sum, Multiplier: l.Requant.Multipliers[i],
			Shift: int32(l.Requant.Shifts[i]), OutZP: l.Requant.ZeroPoint, ActMin: lo, ActMax: hi})
	}
	if p := l.Pool; p != nil {
		ps.Pool = core.PoolParams{Enable: true, Kind: p.Kind, KH: p.KH, KW: p.KW, SH: p.SH, SW: p.SW}
	}
	return ps
}
