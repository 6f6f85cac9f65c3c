package verify

import (
	"fmt"
	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"math/rand/v2"

	"github.com/tpugen/tpugen/quant"
)

// LayerCase is one layer regression case.
type LayerCase struct {
	Index int
	Name  string
	Layer *compile.Layer
}

// MakeLayerCase builds layer case index of a regression seeded with seed,
// for a configuration with the pipeline: alternately a fully connected layer
// and a convolution (SAME or VALID, stride 1 or 2, with pooling when the
// configuration has it), with realistic per-channel requantization, a fused
// clamp now and then, and each activation the configuration supports.
// Values are random int8; weights symmetric int8.
func MakeLayerCase(cfg arch.Config, seed uint64, index int) LayerCase {
	s := caseSeed(seed^0x1A7E5, index)
	r := rand.New(rand.NewPCG(s, s^0x2545F4914F6CDD1D))
	i8 := func(n, lo, hi int) []int8 {
		out := make([]int8, n)
		for i := range out {
			out[i] = int8(lo + r.IntN(hi-lo+1))
		}
		return out
	}
	// Output channels: at most the parameter sets' worth of column tiles.
	maxOut := cfg.Cols * cfg.ParamSets
	outC := 1 + r.IntN(min(maxOut, 2*cfg.Cols+1))
	stage := compile.Requant{ZeroPoint: int32(r.IntN(41) - 20)}
	for c := 0; c < outC; c++ {
		m, sh := quant.QuantizeMultiplier(0.0002 + 0.02*r.Float64())
		stage.Multipliers = append(stage.Multipliers, m)
		stage.Shifts = append(stage.Shifts, sh)
	}
	if r.IntN(3) == 0 { // a fused ReLU6-like clamp
		stage.ActMin, stage.ActMax = stage.ZeroPoint, min(127, stage.ZeroPoint+50)
	}
	bias := make([]int32, outC)
	for i := range bias {
		bias[i] = int32(r.IntN(60001) - 30000)
	}
	act := compile.Activation{Func: arch.ActIdentity}
	modes := []string{"none"}
	if cfg.Activation.HasLeaky() {
		modes = append(modes, "leaky")
	}
	if cfg.Activation.HasTable() {
		modes = append(modes, "logistic", "tanh")
	}
	mode := modes[r.IntN(len(modes))]
	inQ := quant.Params{Scale: float32(0.01 + 0.1*r.Float64()), ZeroPoint: int32(r.IntN(41) - 20), DType: quant.Int8}
	switch mode {
	case "leaky":
		outQ := quant.Params{Scale: float32(0.01 + 0.1*r.Float64()), ZeroPoint: int32(r.IntN(41) - 20), DType: quant.Int8}
		lk, err := quant.PrepareLeakyReLU(inQ, outQ, float32(0.05+0.5*r.Float64()))
		if err == nil {
			act = compile.Activation{Func: arch.ActLeaky, Leaky: lk}
		}
	case "logistic", "tanh":
		if sp, err := quant.PrepareSigmoid(inQ.Scale, inQ.ZeroPoint); err == nil {
			f := quant.LogisticInt8
			if mode == "tanh" {
				f = quant.TanhInt8
			}
			act = compile.Activation{Func: arch.ActTable, Table: quant.Table256(func(x int8) int8 {
				return f(x, sp.InputZeroPoint, sp.InputRangeRadius, sp.InputMultiplier, sp.InputLeftShift)
			})}
		}
	}
	inZP := int32(r.IntN(61) - 30)
	binary := cfg.MAC.IsBinary()
	if binary { // lanes are bit patterns: no zero point, no convolution
		inZP = 0
	}
	c := LayerCase{Index: index}
	if index%2 == 0 || binary {
		batches, in := 1+r.IntN(2*cfg.Rows+3), 1+r.IntN(3*cfg.Rows+5)
		c.Layer = &compile.Layer{Kind: compile.FC, InShape: quant.Shape{N: batches, H: 1, W: 1, C: in}, Input: i8(batches*in, -128, 127),
			WeightShape: quant.Shape{N: outC, H: 1, W: 1, C: in}, Weights: i8(outC*in, -127, 127),
			Bias: bias, InputZP: inZP, Requant: stage, Act: act}
		c.Name = fmt.Sprintf("fc %dx%d->%d %s", batches, in, outC, mode)
		return c
	}
	h, w, inC := 3+r.IntN(6), 3+r.IntN(6), 1+r.IntN(4)
	fh, fw := 1+r.IntN(3), 1+r.IntN(3)
	win := quant.Window{StrideH: 1 + r.IntN(2), StrideW: 1 + r.IntN(2), Padding: quant.PaddingSame}
	if r.IntN(2) == 0 {
		win.Padding = quant.PaddingValid
		fh, fw = min(fh, h), min(fw, w)
	}
	c.Layer = &compile.Layer{Kind: compile.Conv, InShape: quant.Shape{N: 1, H: h, W: w, C: inC}, Input: i8(h*w*inC, -128, 127),
		WeightShape: quant.Shape{N: outC, H: fh, W: fw, C: inC}, Weights: i8(outC*fh*fw*inC, -127, 127),
		Window: win, Bias: bias, InputZP: inZP, Requant: stage, Act: act}
	c.Name = fmt.Sprintf("conv %dx%dx%d %dx%d/%d,%d %s->%d %s", h, w, inC, fh, fw, win.StrideH, win.StrideW, win.Padding, outC, mode)
	if out, err := win.OutputShape(c.Layer.InShape, fh, fw, outC); err == nil && cfg.Pool &&
		out.H <= cfg.PoolHeight && out.W <= cfg.PoolWidth && out.H >= 2 && out.W >= 2 && r.IntN(3) > 0 {
		k := 2 + r.IntN(min(cfg.PoolWindow, min(out.H, out.W))-1)
		kind := arch.MaxPool
		if r.IntN(2) == 0 {
			kind = arch.AveragePool
		}
		p := &compile.Pool{Kind: kind, KH: k, KW: k, SH: 1 + r.IntN(k), SW: 1 + r.IntN(k)}
		p.KH, p.KW = min(p.KH, out.H), min(p.KW, out.W)
		c.Layer.Pool = p
		name := "max"
		if p.Kind == arch.AveragePool {
			name = "avg"
		}
		c.Name += fmt.Sprintf(" %spool %dx%d/%d,%d", name, p.KH, p.KW, p.SH, p.SW)
	}
	return c
}
