package main

import (
	"fmt"
	"math"
	"text/tabwriter"
	"time"

	"github.com/tpugen/tpugen/dataset"
	"github.com/tpugen/tpugen/nn"
	"github.com/tpugen/tpugen/nn/ptq"
	"github.com/tpugen/tpugen/verify"
	"github.com/tpugen/tpugen/verify/sim"
)

// defaultBinaryModel is the binarized MLP scripts/models/lowbit.py trains.
const defaultBinaryModel = "models/bnn_mnist.onnx"

func runBNN(e *env, args []string) error {
	fs := e.flagSet("[-model M.onnx] [-n N] [-skip K] [-batch B] [-sim verilator|icarus|golden] [-config FILE] [-binary-config FILE]",
		"Imports a binarized network (a chain of Gemm layers joined by Sign; a Gemm fed by a\n"+
			"Sign with weights all -1 or +1 is binary) and runs MNIST test images through it:\n"+
			"the int8 layers on the integer unit (-config), the binary layers on a binary unit\n"+
			"(-binary-config, mac \"xnor\": 8 values of -1/+1 packed per lane), the signs\n"+
			"between layers on the host. Every layer's output is compared bit for bit with the\n"+
			"golden model. Prints top-1 accuracy of the float model, the golden model and the RTL,\n"+
			"and a per-layer table of MACs, cycles and utilization per image.",
		"  tpugen bnn -n 1000\n"+
			"  tpugen bnn -model models/bnn_mnist.onnx -n 10000 -sim golden")
	model := fs.String("model", defaultBinaryModel, "binarized ONNX model `FILE`")
	n := fs.Int("n", 100, "number of test images `N`")
	skip := fs.Int("skip", 0, "start at test image `K`")
	batch := fs.Int("batch", 100, "images per layer run `B`")
	simName := fs.String("sim", "verilator", "where the layers run: verilator, icarus or golden (no RTL)")
	calib := fs.Int("calib", 200, "calibrate the logits' scale on the first `N` training images")
	intCfg := fs.String("config", "", "integer unit's configuration `FILE` (default: the embedded default)")
	binCfg := fs.String("binary-config", "configs/binary.json", "binary unit's configuration `FILE` (mac \"xnor\")")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if *n < 1 || *skip < 0 || *batch < 1 || *calib < 1 {
		return badInputf("-n, -batch and -calib must be at least 1 and -skip at least 0")
	}
	var s sim.Simulator
	if *simName != "golden" {
		sims, err := simulators(*simName, false)
		if err != nil {
			return badInputf("-sim %q: want verilator, icarus or golden", *simName)
		}
		s = e.sessions(sims)[0]
	}
	intUnit, cleanup, err := openUnit(*intCfg, s)
	if err != nil {
		return err
	}
	defer cleanup()
	binUnit, cleanup2, err := openUnit(*binCfg, s)
	if err != nil {
		return err
	}
	defer cleanup2()
	if intUnit.Man.Config.MAC.IsBinary() || !binUnit.Man.Config.MAC.IsBinary() {
		return badInputf("-config must be an integer unit and -binary-config a binary one (mac \"xnor\"); got %s (mac %s) and %s (mac %s)",
			intUnit.Man.Config.Name, intUnit.Man.Config.MAC, binUnit.Man.Config.Name, binUnit.Man.Config.MAC)
	}
	for _, u := range []verify.SignUnit{intUnit, binUnit} {
		if !u.Man.Config.Requant {
			return badInputf("configuration %s has no pipeline (requant: true): networks need it", u.Man.Config.Name)
		}
	}
	g, err := nn.Load(*model)
	if err != nil {
		return badInput(err)
	}
	train, err := dataset.Load(dataset.MNIST, dataset.Train)
	if err != nil {
		return err
	}
	test, err := dataset.Load(dataset.MNIST, dataset.Test)
	if err != nil {
		return err
	}
	if *skip+*n > test.Len() {
		return badInputf("-skip %d -n %d: the test set has %d images", *skip, *n, test.Len())
	}
	pixels := func(imgs [][]byte) []float32 {
		var x []float32
		for _, im := range imgs {
			for _, p := range im {
				x = append(x, float32(p)/255)
			}
		}
		return x
	}
	net, err := ptq.LowerBinary(g, binUnit.Man.Config.InputBits, 1.0/255, -128, pixels(train.Images[:min(*calib, train.Len())]))
	if err != nil {
		return badInput(err)
	}
	chain := verify.SignChain{Next: net.NextInput}
	for _, l := range net.Layers {
		chain.Layers = append(chain.Layers, verify.SignLayer{Name: l.Name, Layer: l.Layer, Binary: l.Binary})
	}
	golden := verify.SignUnit{Man: intUnit.Man}
	goldenBin := verify.SignUnit{Man: binUnit.Man}
	start := time.Now()
	stats := make([]verify.SignLayerRun, len(net.Layers))
	var floatOK, goldOK, rtlOK, mismatches int
	for b0 := *skip; b0 < *skip+*n; b0 += *batch {
		bn := min(*batch, *skip+*n-b0)
		x := pixels(test.Images[b0 : b0+bn])
		in := net.Input(x)
		ctx := e.ctx
		gold, err := verify.RunSignChain(ctx, chain, in, bn, golden, goldenBin, verify.GEMMOptions{})
		if err != nil {
			return err
		}
		runs := gold
		if s != nil {
			if runs, err = verify.RunSignChain(ctx, chain, in, bn, intUnit, binUnit, verify.GEMMOptions{}); err != nil {
				return err
			}
		}
		for i, r := range runs {
			stats[i].Cycles += r.Cycles
			stats[i].Predicted += r.Predicted
			stats[i].MACs += r.MACs
			stats[i].Passes = r.Passes
			stats[i].Units = r.Units
			mismatches += r.Mismatch.Count
		}
		fl, err := nn.Run(g, map[string]*nn.Tensor{g.Inputs[0].Name: nn.Float32Tensor([]int{bn, 1, 28, 28}, x)})
		if err != nil {
			return err
		}
		probs := fl[g.Outputs[0].Name].Float32
		for i := 0; i < bn; i++ {
			label := test.Labels[b0+i]
			if argmaxF(probs[i*10:(i+1)*10]) == label {
				floatOK++
			}
			last := gold[len(gold)-1]
			if argmaxI(last.Output[i*last.Units:(i+1)*last.Units]) == label {
				goldOK++
			}
			lr := runs[len(runs)-1]
			if argmaxI(lr.Output[i*lr.Units:(i+1)*lr.Units]) == label {
				rtlOK++
			}
		}
	}
	w := e.stdout
	where := *simName
	fmt.Fprintf(w, "model %s: %d layers; %d test images from %d on %s (int8 layers on %s, binary layers on %s)\n",
		*model, len(net.Layers), *n, *skip, where, intUnit.Man.Config.Name, binUnit.Man.Config.Name)
	pct := func(k int) string { return fmt.Sprintf("%.2f%%", 100*float64(k)/float64(*n)) }
	rtl := "-"
	if s != nil {
		rtl = pct(rtlOK)
	}
	fmt.Fprintf(w, "top-1: float %s, golden %s, RTL %s\n", pct(floatOK), pct(goldOK), rtl)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "layer\tkind\tunit\tin->out\tMACs/image\tcycles/image\tpredicted\tutilization\t")
	var cyc, pred int
	for i, l := range net.Layers {
		st := stats[i]
		kind, u, macs := "int8", intUnit.Man.Config, st.MACs/int64(*n)
		if l.Binary {
			kind, u = fmt.Sprintf("binary (%d/lane)", net.LaneBits), binUnit.Man.Config
			macs *= int64(net.LaneBits) // binary MACs: each lane holds LaneBits
		}
		util := "-"
		if st.Cycles > 0 {
			util = fmt.Sprintf("%.1f%%", 100*float64(st.MACs)/float64(u.Rows*u.Cols)/float64(st.Cycles))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d->%d\t%d\t%d\t%d\t%s\t\n", l.Name, kind, u.Name, l.In, st.Units, macs,
			st.Cycles / *n, st.Predicted / *n, util)
		cyc += st.Cycles
		pred += st.Predicted
	}
	tw.Flush()
	fmt.Fprintf(w, "cycles per image %d (predicted %d, batch %d), mismatches %d, wall %s\n",
		cyc / *n, pred / *n, *batch, mismatches, time.Since(start).Round(time.Millisecond))
	if mismatches > 0 {
		return mismatch(fmt.Errorf("%d outputs differ from the golden model", mismatches))
	}
	return nil
}

// openUnit generates the configuration at path (the embedded default when
// empty) into a temporary directory.
func openUnit(path string, s sim.Simulator) (verify.SignUnit, func(), error) {
	out, man, err := design(path)
	if err != nil {
		return verify.SignUnit{}, nil, err
	}
	dir, cleanup, err := writeTempRTL(out)
	if err != nil {
		return verify.SignUnit{}, nil, err
	}
	return verify.SignUnit{Sim: s, Man: man, Dir: dir}, cleanup, nil
}

func argmaxF(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] || math.IsNaN(float64(v[best])) {
			best = i
		}
	}
	return best
}

func argmaxI(v []int8) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
