package blocks

import (
	"fmt"

	"github.com/tpugen/tpugen/core"
	"github.com/tpugen/tpugen/hdl"
)

// byteMemory is a byte-addressed memory of CoreBeatBytes banks of 9-bit
// words (a byte and its written bit), byte a in bank a mod CoreBeatBytes:
// it reads CoreBeatBytes consecutive bytes from any address in one cycle
// (lane i is byte rbase+i) and writes up to CoreBeatBytes consecutive
// bytes, one per bank; lanes says how many read lanes the controller uses. A clear writes one word of every bank per cycle.
type byteMemory struct {
	banks    []*hdl.Memory
	lanes    []*hdl.Expr // the last read's bytes with their written bits
	wordBits int
	// Controls, combinational, zero unless the controller sets them.
	re, we, clear *hdl.Expr
	rbase, wbase  *hdl.Expr // byte addresses (core.AddrBits)
	wcount        *hdl.Expr // bytes to write from wbase (0..CoreBeatBytes)
	wdata         []*hdl.Expr
}

func newByteMemory(m *hdl.Module, name string, bytes int, clr *hdl.Expr, lanes int) *byteMemory {
	const nb = CoreBeatBytes
	words := bytes / nb
	bm := &byteMemory{
		re: m.Wire(name+"_re", hdl.U(1)), we: m.Wire(name+"_we", hdl.U(1)), clear: m.Wire(name+"_clear", hdl.U(1)),
		rbase: m.Wire(name+"_rbase", hdl.U(core.AddrBits)), wbase: m.Wire(name+"_wbase", hdl.U(core.AddrBits)),
		wcount: m.Wire(name+"_wcount", hdl.U(4)),
	}
	for _, w := range []*hdl.Expr{bm.re, bm.we, bm.clear} {
		m.Set(w, m.Lit(0, 1))
	}
	m.Set(bm.rbase, m.Lit(0, core.AddrBits))
	m.Set(bm.wbase, m.Lit(0, core.AddrBits))
	m.Set(bm.wcount, m.Lit(0, 4))
	for i := 0; i < nb; i++ {
		w := m.Wire(fmt.Sprintf("%s_wdata_%d", name, i), hdl.U(8))
		m.Set(w, m.Lit(0, 8))
		bm.wdata = append(bm.wdata, w)
	}
	rot := m.Reg(name+"_rot", hdl.U(3))
	m.If(bm.re, func() { m.Set(rot, bm.rbase.Slice(2, 0)) })
	clrWide := hdl.ZExt(clr, clr.Width()+1)
	inRange := clrWide.Lt(m.Const(int64(words), clrWide.Shape()))
	var rdata []*hdl.Expr
	for b := 0; b < nb; b++ {
		mem := m.Memory(fmt.Sprintf("%s_bank_%d", name, b), hdl.U(9), words, nil)
		bm.banks = append(bm.banks, mem)
		wb := mem.AddrWidth()
		bm.wordBits = wb
		word := func(a *hdl.Expr) *hdl.Expr { return a.Slice(2+wb, 3) }
		// The byte of bank b among the lanes: offset (b - base) mod nb.
		off := func(base *hdl.Expr) *hdl.Expr { return m.Const(int64(b), hdl.U(3)).Sub(base.Slice(2, 0)).Trunc(3) }
		raddr := bm.rbase.Add(hdl.ZExt(off(bm.rbase), core.AddrBits)).Trunc(core.AddrBits)
		rdata = append(rdata, mem.Read(fmt.Sprintf("%s_rd_%d", name, b), word(raddr), bm.re))
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
	for i := 0; i < lanes; i++ {
		lane := m.Wire(fmt.Sprintf("%s_lane_%d", name, i), hdl.U(9))
		m.Set(lane, rdata[i])
		m.Switch(rot, func(sw *hdl.SwitchBuilder) {
			for r := 1; r < nb; r++ {
				sw.Case([]int64{int64(r)}, func() { m.Set(lane, rdata[(r+i)%nb]) })
			}
		})
		bm.lanes = append(bm.lanes, lane)
	}
	return bm
}

// read issues a read of the bytes from addr (lanes valid next cycle).
func (bm *byteMemory) read(m *hdl.Module, addr *hdl.Expr) {
	m.Set(bm.re, m.Lit(1, 1))
	m.Set(bm.rbase, addr)
}
