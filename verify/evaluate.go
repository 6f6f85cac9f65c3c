package verify

import (
	"context"
	"fmt"
	"time"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/metrics"
	"github.com/tpugen/tpugen/verify/sim"
)

// EvalOptions configure running a labelled test set through a network.
type EvalOptions struct {
	Batch int // images per run of each layer (fully connected layers become GEMMs of Batch rows)
	// Sim runs the hardware layers on the RTL in Dir (described by Man);
	// nil evaluates the golden model only.
	Sim  sim.Simulator
	Man  *arch.Manifest
	Dir  string
	GEMM GEMMOptions
	// Progress, when set, is called after every batch with the images done.
	Progress func(done int)
}

// OpStats sums an op's runs over a test set.
type OpStats struct {
	Op        *compile.Op
	Shape     compile.Tensor // output tensor (one image)
	Hardware  bool
	Passes    int   // layer runs per batch
	MACs      int64 // per image (compile.Op.MACs)
	Cycles    int64 // measured, all batches
	Predicted int64 // cycle model (GEMM only), all batches
}

// Utilization is ideal cycles (MACs ÷ array PEs) over measured cycles.
func (s OpStats) Utilization(pes, images int) float64 {
	if s.Cycles == 0 {
		return 0
	}
	return float64(s.MACs) * float64(images) / float64(pes) / float64(s.Cycles)
}

// NetMismatch is the first difference between the RTL and the golden model.
type NetMismatch struct {
	Op       string
	Image    int // index in the test set
	Mismatch Mismatch
	Batch    [2]int // the batch's first image and size, to rerun it
}

// EvalReport is a test set through a network.
type EvalReport struct {
	Images     int
	GoldenTop1 int // images whose label is the golden model's top class
	GoldenTop5 int
	RTLTop1    int
	RTLTop5    int
	Ops        []OpStats
	Mismatch   *NetMismatch // the first one; nil when the RTL matched everywhere
	Mismatches int          // differing int8 values over every op and image
	Wall       time.Duration
}

// Cycles is the hardware layers' measured cycles over the whole set.
func (r *EvalReport) Cycles() int64 {
	var n int64
	for _, o := range r.Ops {
		n += o.Cycles
	}
	return n
}

// MACs per image of the hardware layers.
func (r *EvalReport) MACs() int64 {
	var n int64
	for _, o := range r.Ops {
		if o.Hardware {
			n += o.MACs
		}
	}
	return n
}

// Evaluate runs images (one int8 NHWC image each, as the network's input
// tensor says) in batches through the golden model and, with opt.Sim,
// through the RTL, comparing every op's output bit for bit. Classes are
// ranked by the input of a final softmax (the logits), or the output.
func Evaluate(ctx context.Context, cfg arch.Config, net *compile.Network, images [][]int8, labels []int, opt EvalOptions) (*EvalReport, error) {
	start := time.Now()
	batch := max(1, opt.Batch)
	rep := &EvalReport{Images: len(images)}
	scores := net.Output
	if last := net.Ops[len(net.Ops)-1]; last.Kind == compile.OpSoftmax && last.Output == net.Output {
		scores = last.Inputs[0]
	}
	for _, op := range net.Ops {
		rep.Ops = append(rep.Ops, OpStats{Op: op, Shape: *net.Tensors[op.Output], Hardware: op.OnHardware(), MACs: op.MACs()})
	}
	for b0 := 0; b0 < len(images); b0 += batch {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		n := min(batch, len(images)-b0)
		var input []int8
		for _, img := range images[b0 : b0+n] {
			input = append(input, img...)
		}
		golden, err := GoldenNetwork(cfg, net, input, n)
		if err != nil {
			return rep, err
		}
		g1, g5 := topK(golden[scores], labels[b0:b0+n])
		rep.GoldenTop1 += g1
		rep.GoldenTop5 += g5
		if opt.Sim != nil {
			run, err := RunNetwork(ctx, opt.Sim, opt.Man, opt.Dir, net, input, n, golden, opt.GEMM)
			if err != nil {
				return rep, fmt.Errorf("images %d to %d: %w", b0, b0+n-1, err)
			}
			r1, r5 := topK(run.Values[scores], labels[b0:b0+n])
			rep.RTLTop1 += r1
			rep.RTLTop5 += r5
			for k, o := range run.Ops {
				s := &rep.Ops[k]
				s.Passes = max(s.Passes, o.Passes)
				s.Cycles += int64(o.Cycles)
				s.Predicted += int64(o.Predicted)
				rep.Mismatches += o.Mismatch.Count
				if o.Mismatch.Count > 0 && rep.Mismatch == nil {
					per := o.Shape.H * o.Shape.W * o.Shape.C
					rep.Mismatch = &NetMismatch{Op: o.Op.Name, Image: b0 + o.Mismatch.Index[0]/max(1, per), Mismatch: o.Mismatch, Batch: [2]int{b0, n}}
				}
			}
		}
		if opt.Progress != nil {
			opt.Progress(b0 + n)
		}
	}
	rep.Wall = time.Since(start)
	return rep, nil
}

// topK counts the images whose label is the top class and among the top
// five classes of scores (metrics' rule: ties rank the lower class first).
func topK(v Value, labels []int) (top1, top5 int) {
	a, err := metrics.Count(v.Data, v.Shape.H*v.Shape.W*v.Shape.C, labels)
	if err != nil {
		return 0, 0
	}
	return a.Top1, a.Top5
}
