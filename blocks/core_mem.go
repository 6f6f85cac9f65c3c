package blocks

import (
	"fmt"

	"github.com/tpugen/tpugen/core"
	"github.com/tpugen/tpugen/hdl"
)

// byteMemory is a byte-addressed memory of CoreBeatBytes banks of 9-bit
// words (a byte and its written bit), byte a in bank a mod CoreBeatBytes:
// each read port reads CoreBeatBytes consecutive bytes from any address in
// one cycle (lane i is byte rbase+i) and writes up to CoreBeatBytes
// consecutive bytes, one per bank; lanes0 and lanes say how many read
// lanes the controller uses of port 0 and of the others. A clear writes
// one word of every bank per cycle.
type byteMemory struct {
	banks    []*hdl.Memory
	wordBits int
	// Port 0's controls and lanes (every user reads through it).
	re, rbase *hdl.Expr
	lanes     []*hdl.Expr
	// ports are the read ports, port 0 first.
	ports []*readPort
	// Controls, combinational, zero unless the controller sets them.
	we, clear *hdl.Expr
	wbase     *hdl.Expr // byte address (core.AddrBits)
	wcount    *hdl.Expr // bytes to write from wbase (0..CoreBeatBytes)
	wdata     []*hdl.Expr
}

// readPort is one read port of a byteMemory: re and rbase are set by the
// controller (combinational, zero unless set), lanes hold the last read's
// bytes with their written bits.
type readPort struct {
	re, rbase *hdl.Expr
	lanes     []*hdl.Expr
}

func newByteMemory(m *hdl.Module, name string, bytes int, clr *hdl.Expr, lanes0, lanes, ports int) *byteMemory {
	const nb = CoreBeatBytes
	words := bytes / nb
	bm := &byteMemory{
		we: m.Wire(name+"_we", hdl.U(1)), clear: m.Wire(name+"_clear", hdl.U(1)),
		wbase:  m.Wire(name+"_wbase", hdl.U(core.AddrBits)),
		wcount: m.Wire(name+"_wcount", hdl.U(4)),
	}
	for _, w := range []*hdl.Expr{bm.we, bm.clear} {
		m.Set(w, m.Lit(0, 1))
	}
	m.Set(bm.wbase, m.Lit(0, core.AddrBits))
	m.Set(bm.wcount, m.Lit(0, 4))
	for i := 0; i < nb; i++ {
		w := m.Wire(fmt.Sprintf("%s_wdata_%d", name, i), hdl.U(8))
		m.Set(w, m.Lit(0, 8))
		bm.wdata = append(bm.wdata, w)
	}
	// Port 0 keeps the memory's plain names; port p its _p<p> ones.
	pname := func(p int, s string) string {
		if p == 0 {
			return name + "_" + s
		}
		return fmt.Sprintf("%s_p%d_%s", name, p, s)
	}
	rots := make([]*hdl.Expr, ports)
	for p := 0; p < ports; p++ {
		rp := &readPort{re: m.Wire(pname(p, "re"), hdl.U(1)), rbase: m.Wire(pname(p, "rbase"), hdl.U(core.AddrBits))}
		m.Set(rp.re, m.Lit(0, 1))
		m.Set(rp.rbase, m.Lit(0, core.AddrBits))
		rots[p] = m.Reg(pname(p, "rot"), hdl.U(3))
		m.If(rp.re, func() { m.Set(rots[p], rp.rbase.Slice(2, 0)) })
		bm.ports = append(bm.ports, rp)
	}
	clrWide := hdl.ZExt(clr, clr.Width()+1)
	inRange := clrWide.Lt(m.Const(int64(words), clrWide.Shape()))
	rdata := make([][]*hdl.Expr, ports)
	for b := 0; b < nb; b++ {
		mem := m.Memory(fmt.Sprintf("%s_bank_%d", name, b), hdl.U(9), words, nil)
		bm.banks = append(bm.banks, mem)
		wb := mem.AddrWidth()
		bm.wordBits = wb
		word := func(a *hdl.Expr) *hdl.Expr { return a.Slice(2+wb, 3) }
		// The byte of bank b among the lanes: offset (b - base) mod nb.
		off := func(base *hdl.Expr) *hdl.Expr { return m.Const(int64(b), hdl.U(3)).Sub(base.Slice(2, 0)).Trunc(3) }
		for p, rp := range bm.ports {
			raddr := rp.rbase.Add(hdl.ZExt(off(rp.rbase), core.AddrBits)).Trunc(core.AddrBits)
			rdata[p] = append(rdata[p], mem.Read(pname(p, fmt.Sprintf("rd_%d", b)), word(raddr), rp.re))
		}
		woff := m.Wire(fmt.Sprintf("%s_woff_%d", name, b), hdl.U(3))
		m.Set(woff, off(bm.wbase))
		waddr := bm.wbase.Add(hdl.ZExt(woff, core.AddrBits)).Trunc(core.AddrBits)
		wd := m.Wire(fmt.Sprintf("%s_wd_%d", name, b), hdl.U(8))
		m.Set(wd, bm.wdata[0])
		m.Switch(woff, func(sw *hdl.SwitchBuilder) {
			for j := 1; j < nb; j++ {
				sw.Case([]int64{int64(j)}, func() { m.Set(wd, bm.wdata[j]) })
			}
		})
		var clrWord *hdl.Expr
		if clr.Width() >= wb {
			clrWord = clr.Trunc(wb)
		} else {
			clrWord = hdl.ZExt(clr, wb)
		}
		hit := bm.we.And(hdl.ZExt(woff, 4).Lt(bm.wcount))
		// One write port per bank (block RAM): the clear and the
		// controller's writes share it.
		m.If(bm.clear.And(inRange).Or(hit), func() {
			mem.Write(hdl.Mux(bm.clear, clrWord, word(waddr)), hdl.Mux(bm.clear, m.Lit(0, 9), hdl.Cat(m.Lit(1, 1), wd)))
		})
	}
	for p, rp := range bm.ports {
		n := lanes
		if p == 0 {
			n = lanes0
		}
		for i := 0; i < n; i++ {
			lane := m.Wire(pname(p, fmt.Sprintf("lane_%d", i)), hdl.U(9))
			m.Set(lane, rdata[p][i])
			m.Switch(rots[p], func(sw *hdl.SwitchBuilder) {
				for r := 1; r < nb; r++ {
					sw.Case([]int64{int64(r)}, func() { m.Set(lane, rdata[p][(r+i)%nb]) })
				}
			})
			rp.lanes = append(rp.lanes, lane)
		}
	}
	bm.re, bm.rbase, bm.lanes = bm.ports[0].re, bm.ports[0].rbase, bm.ports[0].lanes
	return bm
}

// read issues a read of the bytes from addr on port 0 (lanes valid next
// cycle).
func (bm *byteMemory) read(m *hdl.Module, addr *hdl.Expr) { bm.readPort(m, 0, addr) }

// readPort issues a read of the bytes from addr on port p.
func (bm *byteMemory) readPort(m *hdl.Module, p int, addr *hdl.Expr) {
	m.Set(bm.ports[p].re, m.Lit(1, 1))
	m.Set(bm.ports[p].rbase, addr)
}
