package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/core"
	"github.com/tpugen/tpugen/verify"
)

// runCoreTarget is tpugen run -target core: the model compiled into one
// core program per batch, run on the core RTL (or only on core.Machine
// with -sim golden), every image's output compared bit for bit with the
// program on core.Machine; the core's counters are read back and reported
// with the batch-1 latency.
func (e *env) runCoreTarget(target string, src rtlSource, simName string, mr modelRun) error {
	if target != "core" {
		return badInputf("-target %q: want mxu or core", target)
	}
	if simName != "verilator" && simName != "icarus" && simName != "golden" {
		return badInputf("-sim %q: want verilator, icarus or golden", simName)
	}
	rtl, err := openRTL(src, "golden")
	if err != nil {
		return err
	}
	defer rtl.cleanup()
	if rtl.man.Core == nil {
		return badInputf("-target core: configuration %s has no core (use -config configs/core.json or -rtl rtl-out/core)", rtl.man.Config.Name)
	}
	c, err := verify.NewCoreRTL(rtl.man, rtl.dir)
	if err != nil {
		return badInput(err)
	}
	mr.rtl = rtl
	lm, err := e.loadModel(&mr)
	if err != nil {
		return err
	}
	if mr.skip+mr.n > lm.test.Len() {
		return badInputf("-skip %d -n %d: the test set has %d images", mr.skip, mr.n, lm.test.Len())
	}
	x := &verify.CoreExecutor{RTL: c, Sim: simName, Opt: verify.CoreRunOptions{MaxCycles: 1 << 30, Sim: e.simOptions()}}
	var predicted int64 // the program cycle model's total
	// run compiles and runs one batch on the model and, unless golden, on
	// the RTL; it returns the network's output.
	run := func(lo, hi int) ([]int8, error) {
		var input []int8
		for i := lo; i < hi; i++ {
			input = append(input, lm.int8Image(i)...)
		}
		prog, err := compile.CompileProgram(c.Config, lm.net, hi-lo)
		if err != nil {
			return nil, badInput(err)
		}
		host := map[string]compile.HostValue{prog.Net.Input: {Data: input}}
		for _, seg := range prog.Segments {
			words, err := seg.Words()
			if err != nil {
				return nil, err
			}
			stream, err := seg.Stream(host)
			if err != nil {
				stream = nil // a later segment reads host results: its pooling is not modelled
			}
			p, err := core.Cycles(c.Config, rtl.man.Core.DrainCycles, words, stream)
			if err != nil {
				return nil, err
			}
			predicted += p
		}
		mach, err := core.NewMachine(c.Config)
		if err != nil {
			return nil, err
		}
		want, err := compile.RunProgram(mach, prog, input)
		if err != nil {
			return nil, fmt.Errorf("core.Machine: %w", err)
		}
		out := want[prog.Net.Output].Data
		if simName == "golden" {
			return out, nil
		}
		got, err := compile.RunProgram(x, prog, input)
		if err != nil {
			return nil, fmt.Errorf("images %d..%d on the RTL core: %w", lo, hi-1, err)
		}
		g := got[prog.Net.Output].Data
		for i := range out {
			if g[i] != out[i] {
				per := len(out) / (hi - lo)
				return nil, fmt.Errorf("image %d: the RTL core's output %d is %d, core.Machine's %d (rerun: tpugen run -target core -skip %d -n %d -batch %d)",
					lo+i/per, i%per, g[i], out[i], lo, hi-lo, hi-lo)
			}
		}
		return g, nil
	}
	correct := 0
	for lo := mr.skip; lo < mr.skip+mr.n; lo += mr.batch {
		hi := min(lo+mr.batch, mr.skip+mr.n)
		out, err := run(lo, hi)
		if err != nil {
			return err
		}
		per := len(out) / (hi - lo)
		for i := lo; i < hi; i++ {
			v := out[(i-lo)*per : (i-lo+1)*per]
			best := 0
			for j := range v {
				if v[j] > v[best] {
					best = j
				}
			}
			if best == lm.test.Labels[i] {
				correct++
			}
		}
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "model\t%s on %s (%s), %d images, batch %d\n", mr.model, rtl.man.Config.Name, simName, mr.n, mr.batch)
	fmt.Fprintf(tw, "top-1\t%.2f%% (%d/%d)\n", 100*float64(correct)/float64(mr.n), correct, mr.n)
	if simName == "golden" {
		fmt.Fprintf(tw, "RTL\tnot run (-sim golden)\n")
		return tw.Flush()
	}
	t := x.Total
	ideal := float64(t.MACs) / float64(c.Config.Arch.Rows*c.Config.Arch.Cols)
	fmt.Fprintf(tw, "bit-exact\tevery image's output equals core.Machine's (%d core runs)\n", x.Runs)
	fmt.Fprintf(tw, "cycles\t%d (%.0f per image)\n", t.Cycles, float64(t.Cycles)/float64(mr.n))
	fmt.Fprintf(tw, "array busy\t%d cycles\n", t.Busy)
	fmt.Fprintf(tw, "weight stall\t%d cycles\n", t.WStall)
	fmt.Fprintf(tw, "useful MACs\t%d (ideal %.0f cycles)\n", t.MACs, ideal)
	fmt.Fprintf(tw, "utilization\t%.1f%% including data movement\n", 100*ideal/float64(t.Cycles))
	fmt.Fprintf(tw, "cycle model\t%d predicted, error %+.2f%%\n", predicted, 100*(float64(predicted)/float64(t.Cycles)-1))
	before, pbefore := x.Total.Cycles, predicted
	if _, err := run(mr.skip, mr.skip+1); err != nil {
		return err
	}
	lat := x.Total.Cycles - before
	fmt.Fprintf(tw, "batch-1 latency\t%d cycles (model %d, error %+.2f%%)\n", lat, predicted-pbefore, 100*(float64(predicted-pbefore)/float64(lat)-1))
	return tw.Flush()
}
