package compile

import (
	"errors"
	"fmt"
	"math"
	"math/big"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/quant"
)

// LayerPlan is a layer lowered onto the matrix unit and its pipeline: the
// GEMM's beats, the parameter words that go first on p_in, and how the
// y_out beats map onto the output tensor.
type LayerPlan struct {
	GEMM   *GEMMPlan
	Params []*big.Int // p_in payloads
	// PerTile is the number of y_out beats each column tile produces (one
	// per output pixel, pooled or not); beat i belongs to tile i/PerTile.
	PerTile int
	// Shape is the layer's output shape (after pooling): y_out beat p of
	// tile t fills Output[p*Shape.C + t*cols + j] for lane j.
	Shape quant.Shape
	// LastRow is the last GEMM row the layer's last output depends on: the
	// last row, or with VALID pooling the last pixel a window reads.
	LastRow int
}

// Beats is the number of y_out beats the layer produces.
func (p *LayerPlan) Beats() int { return p.PerTile * p.GEMM.NTiles }

// PlanLayer lowers l onto the manifest's matrix unit. Every parameter word
// is packed by the manifest's layouts and protocol (targets, addresses, mode
// encodings): nothing of the protocol is written here.
func PlanLayer(man *arch.Manifest, l *Layer) (*LayerPlan, error) {
	cfg := man.Config
	if !cfg.Requant {
		return nil, fmt.Errorf("layer: configuration %s has no pipeline (set requant: true)", cfg.Name)
	}
	a, b, outShape, err := l.Lower()
	if err != nil {
		return nil, err
	}
	if !cfg.Activation.Supports(l.Act.Func) {
		return nil, fmt.Errorf("layer: activation %v is not in this configuration (activation: %v; set activation to %q or \"all\")", l.Act.Func, cfg.Activation, l.Act.Func.String())
	}
	gp, err := planGEMM(man, a, b, true)
	if err != nil {
		return nil, err
	}
	if gp.NTiles > cfg.ParamSets {
		return nil, fmt.Errorf("layer: %d output channels need %d parameter sets, the configuration has %d", gp.N, gp.NTiles, cfg.ParamSets)
	}
	if cfg.Rounding.IsFloat() {
		scales := l.Requant.FloatScales()
		if n := len(scales); n != 1 && n != gp.N {
			return nil, fmt.Errorf("layer: %d float scales for %d output channels", n, gp.N)
		}
		for _, s := range scales {
			if err := quant.CheckFloatScale(s); err != nil {
				return nil, fmt.Errorf("layer: %w", err)
			}
		}
	} else if n := len(l.Requant.Multipliers); n != 1 && n != gp.N || len(l.Requant.Shifts) != n {
		return nil, fmt.Errorf("layer: %d multipliers and %d shifts for %d output channels", n, len(l.Requant.Shifts), gp.N)
	}
	// The pooling unit sees frames: each image's output map in raster
	// order (a batch is frames back to back), or for a plain FC layer the
	// whole batch as one row.
	frameH, frameW := outShape.H, outShape.W
	if l.Kind == FC && l.MapH == 0 {
		frameH, frameW = 1, outShape.N
	}
	plan := &LayerPlan{GEMM: gp, PerTile: gp.M, Shape: outShape, LastRow: gp.M - 1}
	if l.Pool != nil {
		if !cfg.Pool || (l.Kind != Conv && l.MapH == 0) {
			return nil, errors.New("layer: pooling needs a feature map (a conv layer, or an im2col matrix with its map size) and a configuration with pool: true (set it)")
		}
		if _, ok := man.Protocol.Pool.Modes[l.Pool.Kind]; !ok {
			return nil, fmt.Errorf("layer: %v pooling is not in this configuration's pooling unit (set pool_l2: true)", l.Pool.Kind)
		}
		if frameW > cfg.PoolWidth || frameH > cfg.PoolHeight {
			return nil, fmt.Errorf("layer: the %dx%d feature map exceeds pool_height x pool_width %dx%d (raise them in the configuration)", frameH, frameW, cfg.PoolHeight, cfg.PoolWidth)
		}
		if max(l.Pool.KH, l.Pool.KW, l.Pool.SH, l.Pool.SW) > cfg.PoolWindow || min(l.Pool.KH, l.Pool.KW, l.Pool.SH, l.Pool.SW) < 1 {
			return nil, fmt.Errorf("layer: pooling window %dx%d stride %dx%d must be within 1..pool_window (%d; raise it in the configuration)", l.Pool.KH, l.Pool.KW, l.Pool.SH, l.Pool.SW, cfg.PoolWindow)
		}
		oh, ow := (frameH-l.Pool.KH)/l.Pool.SH+1, (frameW-l.Pool.KW)/l.Pool.SW+1
		if l.Pool.KH > frameH || l.Pool.KW > frameW {
			return nil, fmt.Errorf("layer: pooling window %dx%d larger than the %dx%d feature map", l.Pool.KH, l.Pool.KW, frameH, frameW)
		}
		plan.PerTile = outShape.N * oh * ow
		if l.Kind == FC && l.MapH == 0 {
			plan.PerTile = oh * ow
		}
		// The last frame starts frameH*frameW rows before the end.
		plan.LastRow = gp.M - frameH*frameW + ((oh-1)*l.Pool.SH+l.Pool.KH-1)*frameW + (ow-1)*l.Pool.SW + l.Pool.KW - 1
		plan.Shape.H, plan.Shape.W = oh, ow
	}
	if l.Softmax != nil {
		if !cfg.Softmax {
			return nil, errors.New("layer: softmax needs a configuration with softmax: true (set it)")
		}
		if gp.N > cfg.Cols {
			return nil, fmt.Errorf("layer: softmax over %d channels, the softmax unit takes one row of at most cols = %d", gp.N, cfg.Cols)
		}
	}
	params, err := layerParams(man, l, FoldedBias(l.Bias, l.InputZP, b), gp.NTiles, frameH, frameW)
	if err != nil {
		return nil, fmt.Errorf("layer parameters: %w", err)
	}
	plan.Params = params
	return plan, nil
}

// layerParams packs the p_in words: per column tile t (= parameter set t),
// one requantizer word per lane, then the activation control word (and the
// table), then the pooling control word.
func layerParams(man *arch.Manifest, l *Layer, bias []int32, nTiles, frameH, frameW int) ([]*big.Int, error) {
	proto, pin := man.Protocol, man.Stream(arch.StreamP)
	var words []*big.Int
	var errs []error
	emit := func(stage arch.Stage, set, addr int, fields []arch.Field, vals arch.Values) {
		data, err := arch.Pack(fields, vals)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", stage, err))
			return
		}
		w, err := pin.Pack(arch.Values{"target": {int64(proto.Targets[stage])}, "set": {int64(set)}, "addr": {int64(addr)}})
		if err != nil {
			errs = append(errs, err)
			return
		}
		f := pin.Field("data")
		words = append(words, w.Or(w, data.Lsh(data, uint(f.LSB))))
	}
	one := func(v int64) []int64 { return []int64{v} }
	lo, hi := l.Requant.Range()
	C, N := man.Config.Cols, len(bias)
	rq := man.Params[arch.StageRequant]
	scales := l.Requant.FloatScales()
	act, hasAct := man.Params[arch.StageActivation]
	pool, hasPool := man.Params[arch.StagePool]
	for t := 0; t < nTiles; t++ {
		for j := 0; j < C; j++ {
			n := t*C + j
			vals := arch.Values{"out_zp": one(int64(l.Requant.ZeroPoint)), "act_min": one(int64(lo)), "act_max": one(int64(hi))}
			if n < N {
				i := n
				if man.Config.Rounding.IsFloat() {
					if len(scales) == 1 {
						i = 0
					}
					vals["bias"], vals["scale"] = one(int64(bias[n])), one(int64(math.Float32bits(scales[i])))
					emit(arch.StageRequant, t, j, rq, vals)
					continue
				}
				if len(l.Requant.Multipliers) == 1 {
					i = 0
				}
				vals["bias"], vals["multiplier"], vals["shift"] = one(int64(bias[n])), one(int64(l.Requant.Multipliers[i])), one(int64(l.Requant.Shifts[i]))
			}
			emit(arch.StageRequant, t, j, rq, vals)
		}
		if hasAct {
			ap, lk := proto.Activation, l.Act.Leaky
			emit(arch.StageActivation, t, ap.ControlAddr, act, arch.Values{"mode": one(int64(ap.Modes[l.Act.Func])),
				"in_zp": one(int64(lk.InputZeroPoint)), "out_zp": one(int64(lk.OutputZeroPoint)),
				"mult_identity": one(int64(lk.IdentityMultiplier)), "shift_identity": one(int64(lk.IdentityShift)),
				"mult_alpha": one(int64(lk.AlphaMultiplier)), "shift_alpha": one(int64(lk.AlphaShift))})
			if l.Act.Func == arch.ActTable {
				for x := 0; x < ap.TableSize; x++ {
					emit(arch.StageActivation, t, ap.TableAddr+x, ap.TableEntry, arch.Values{"value": one(int64(l.Act.Table[x]))})
				}
			}
		}
		if hasPool {
			// Without pooling every beat is its own 1x1 frame, passed through.
			vals := arch.Values{"enable": one(0), "width": one(1), "height": one(1), "kh": one(1), "kw": one(1), "sh": one(1), "sw": one(1)}
			if p := l.Pool; p != nil {
				vals = arch.Values{"enable": one(1), "mode": one(int64(proto.Pool.Modes[p.Kind])),
					"width": one(int64(frameW)), "height": one(int64(frameH)),
					"kh": one(int64(p.KH)), "kw": one(int64(p.KW)), "sh": one(int64(p.SH)), "sw": one(int64(p.SW))}
				if p.Kind == arch.L2Pool {
					vals["zp"] = one(int64(p.ZeroPoint))
				}
			}
			emit(arch.StagePool, t, proto.Pool.ControlAddr, pool, vals)
		}
		if sm, ok := man.Params[arch.StageSoftmax]; ok {
			// Depth 0 passes the beat through; a softmax layer has one
			// column tile, all of whose channels form the row.
			depth := 0
			if l.Softmax != nil {
				sp := proto.Softmax
				for d, e := range quant.SoftmaxExpTable(*l.Softmax) {
					emit(arch.StageSoftmax, t, sp.TableAddr+d, sp.TableEntry, arch.Values{"value": one(int64(e))})
				}
				depth = N
			}
			emit(arch.StageSoftmax, t, proto.Softmax.ControlAddr, sm, arch.Values{"depth": one(int64(depth))})
		}
	}
	return words, errors.Join(errs...)
}
