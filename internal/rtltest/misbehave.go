package rtltest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tpugen/tpugen/arch"
)

// Misbehaviour is a way a broken design can corrupt a result stream.
type Misbehaviour int

const (
	// ExtraBeat repeats the stream's first beat once, in the first idle
	// cycle after it.
	ExtraBeat Misbehaviour = iota
	// LateBeat repeats the first beat 40 idle cycles after it: usually after
	// the run should have ended.
	LateBeat
	// DropBeat swallows the first beat.
	DropBeat
	// FlipField inverts bit 0 of a payload field of every beat.
	FlipField
	// XField makes bit 0 of a payload field x (4-state simulators only).
	XField
)

// Misbehave turns the generated design in dir into a broken one: the top
// module is renamed <top>_dut and a wrapper with the original name and
// ports corrupts one output stream as m says (field names the payload
// field for FlipField and XField). The wrapper goes at the end of the top's
// file, so the manifest's file list still describes the design.
func Misbehave(t testing.TB, dir string, man *arch.Manifest, stream string, m Misbehaviour, field string) {
	t.Helper()
	file := ""
	for _, f := range man.Files {
		if f.Module == man.Top {
			file = filepath.Join(dir, f.Name)
		}
	}
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	decl := "module " + man.Top + " ("
	if !strings.Contains(string(src), decl) {
		t.Fatalf("%s: no %q", file, decl)
	}
	text := strings.Replace(string(src), decl, "module "+man.Top+"_dut (", 1)
	l := man.Stream(stream)
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	var names []string
	for _, port := range man.Ports {
		names = append(names, port.Name)
	}
	p("\n// A deliberately broken wrapper (test only).")
	p("module %s (%s);", man.Top, strings.Join(names, ", "))
	var conns []string
	for _, port := range man.Ports {
		dir := "input"
		if port.Dir == "out" {
			dir = "output"
		}
		p("  %s wire [%d:0] %s;", dir, port.Width-1, port.Name)
		switch port.Name {
		case l.Valid, l.Ready, l.Data:
			p("  wire [%d:0] dut_%s;", port.Width-1, port.Name)
			conns = append(conns, fmt.Sprintf(".%s(dut_%s)", port.Name, port.Name))
		default:
			conns = append(conns, fmt.Sprintf(".%s(%s)", port.Name, port.Name))
		}
	}
	p("  %s_dut dut (%s);", man.Top, strings.Join(conns, ", "))
	v, r, d, w := l.Valid, l.Ready, l.Data, l.Width
	bit := 0
	if m == FlipField || m == XField {
		i := -1
		for k, f := range l.Fields {
			if f.Name == field {
				i = k
			}
		}
		if i < 0 {
			t.Fatalf("stream %s has no field %q", stream, field)
		}
		bit = l.Fields[i].LSB
	}
	switch m {
	case ExtraBeat, LateBeat:
		wait := 1
		if m == LateBeat {
			wait = 40
		}
		p("  reg seen, sent; reg [7:0] idle; reg [%d:0] copy;", w-1)
		p("  wire inj = seen & ~sent & ~dut_%s & (idle >= 8'd%d);", v, wait)
		p("  assign %s = dut_%s | inj;", v, v)
		p("  assign %s = dut_%s ? dut_%s : copy;", d, v, d)
		p("  assign dut_%s = %s;", r, r)
		p("  always @(posedge %s) begin", man.Clock)
		p("    if (%s) begin seen <= 1'b0; sent <= 1'b0; idle <= 8'd0; end", man.Reset)
		p("    else begin")
		p("      if (dut_%s & %s & ~seen) begin seen <= 1'b1; copy <= dut_%s; end", v, r, d)
		p("      if (seen & ~dut_%s & (idle != 8'hff)) idle <= idle + 8'd1;", v)
		p("      if (inj & %s) sent <= 1'b1;", r)
		p("    end")
		p("  end")
	case DropBeat:
		p("  reg seen;")
		p("  assign %s = dut_%s & seen;", v, v)
		p("  assign %s = dut_%s;", d, d)
		p("  assign dut_%s = %s | ~seen;", r, r)
		p("  always @(posedge %s) begin", man.Clock)
		p("    if (%s) seen <= 1'b0;", man.Reset)
		p("    else if (dut_%s) seen <= 1'b1;", v)
		p("  end")
	case FlipField, XField:
		flip := "1'b1"
		if m == XField {
			flip = "1'bx"
		}
		p("  assign %s = dut_%s;", v, v)
		p("  assign dut_%s = %s;", r, r)
		p("  assign %s = dut_%s ^ ({{%d{1'b0}}, %s} << %d);", d, d, w-1, flip, bit)
	}
	p("endmodule")
	if err := os.WriteFile(file, []byte(text+b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
