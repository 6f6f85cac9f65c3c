package compile_test

import (
	"encoding/json"
	"math/big"
	"testing"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/quant"
)

// defaultManifest is the default configuration's manifest, as a driver
// reads it (through JSON).
func defaultManifest(t *testing.T) *arch.Manifest {
	t.Helper()
	out, err := gen.Generate(gen.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(out.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	man, err := arch.ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	return man
}

// pinWord is one decoded p_in word.
type pinWord struct {
	target, set, addr int64
	data              *big.Int
}

func decode(t *testing.T, man *arch.Manifest, words []*big.Int) []pinWord {
	t.Helper()
	l := man.Stream(arch.StreamP)
	var out []pinWord
	for _, w := range words {
		get := func(name string) int64 {
			v, err := l.Unpack(w, name)
			if err != nil {
				t.Fatal(err)
			}
			return v[0]
		}
		var dataLSB int
		for _, f := range l.Fields {
			if f.Name == "data" {
				dataLSB = f.LSB
			}
		}
		out = append(out, pinWord{get("target"), get("set"), get("addr"), new(big.Int).Rsh(w, uint(dataLSB))})
	}
	return out
}

func field(t *testing.T, fields []arch.Field, name string, data *big.Int) int64 {
	t.Helper()
	for _, f := range fields {
		if f.Name == name {
			return f.Unpack(data)[0]
		}
	}
	t.Fatalf("no field %q", name)
	return 0
}

// TestPlanFollowsTheManifest plans a conv layer with a table activation and
// average pooling, then changes the protocol in the manifest (the p_in
// targets, the activation control address and table base, the mode
// encodings) and shows the parameter words follow: no protocol constant
// lives in the compiler.
func TestPlanFollowsTheManifest(t *testing.T) {
	var table [256]int8
	for i := range table {
		table[i] = int8(255 - i)
	}
	l := &compile.Layer{Kind: compile.Conv, InShape: quant.Shape{N: 1, H: 4, W: 4, C: 2}, Input: make([]int8, 32),
		WeightShape: quant.Shape{N: 3, H: 3, W: 3, C: 2}, Weights: make([]int8, 54), Bias: []int32{1, 2, 3},
		Window:  quant.Window{StrideH: 1, StrideW: 1, Padding: quant.PaddingSame},
		Requant: compile.Requant{Multipliers: []int32{1 << 30}, Shifts: []int{-3}, ZeroPoint: 4},
		Act:     compile.Activation{Func: arch.ActTable, Table: table},
		Pool:    &compile.Pool{Kind: arch.AveragePool, KH: 2, KW: 2, SH: 2, SW: 2}}

	check := func(t *testing.T, man *arch.Manifest) {
		plan, err := compile.PlanLayer(man, l)
		if err != nil {
			t.Fatal(err)
		}
		p := man.Protocol
		var req, ctrl, entries, pool int
		for _, w := range decode(t, man, plan.Params) {
			switch {
			case w.target == int64(p.Targets[arch.StageRequant]):
				req++
			case w.target == int64(p.Targets[arch.StageActivation]) && w.addr == int64(p.Activation.ControlAddr):
				ctrl++
				if m := field(t, man.Params[arch.StageActivation], "mode", w.data); m != int64(p.Activation.Modes[arch.ActTable]) {
					t.Errorf("activation mode %d, the manifest encodes table as %d", m, p.Activation.Modes[arch.ActTable])
				}
			case w.target == int64(p.Targets[arch.StageActivation]):
				x := w.addr - int64(p.Activation.TableAddr)
				if x < 0 || x >= 256 || field(t, p.Activation.TableEntry, "value", w.data) != int64(table[x]) {
					t.Errorf("table word at address %d holds %v", w.addr, w.data)
				}
				entries++
			case w.target == int64(p.Targets[arch.StagePool]) && w.addr == int64(p.Pool.ControlAddr):
				pool++
				if m := field(t, man.Params[arch.StagePool], "mode", w.data); m != int64(p.Pool.Modes[arch.AveragePool]) {
					t.Errorf("pool mode %d, the manifest encodes average as %d", m, p.Pool.Modes[arch.AveragePool])
				}
			default:
				t.Errorf("word for target %d address %d matches no stage of the manifest", w.target, w.addr)
			}
		}
		if req != 8 || ctrl != 1 || entries != 256 || pool != 1 {
			t.Errorf("%d requantizer words, %d activation control, %d table entries, %d pool control; want 8, 1, 256, 1", req, ctrl, entries, pool)
		}
	}
	man := defaultManifest(t)
	t.Run("as generated", func(t *testing.T) { check(t, man) })

	changed := defaultManifest(t)
	p := changed.Protocol
	p.Targets[arch.StageActivation], p.Targets[arch.StagePool] = p.Targets[arch.StagePool], p.Targets[arch.StageActivation]
	p.Activation.ControlAddr, p.Activation.TableAddr = 0, 100
	p.Activation.Modes[arch.ActTable] = 3
	p.Pool.ControlAddr = 5
	p.Pool.Modes[arch.AveragePool], p.Pool.Modes[arch.MaxPool] = 0, 1
	t.Run("changed", func(t *testing.T) { check(t, changed) })

	// And the changed words really differ from the generated ones.
	a, _ := compile.PlanLayer(man, l)
	b, _ := compile.PlanLayer(changed, l)
	same := 0
	for i := range a.Params {
		if a.Params[i].Cmp(b.Params[i]) == 0 {
			same++
		}
	}
	if same == len(a.Params) {
		t.Error("changing the protocol changed no parameter word")
	}
}
