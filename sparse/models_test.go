package sparse

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/dataset"
	"github.com/tpugen/tpugen/nn"
	"github.com/tpugen/tpugen/nn/ptq"
	"github.com/tpugen/tpugen/quant"
)

// model is a committed model quantized as the verify tests do.
type model struct {
	file string
	net  *compile.Network
	skip string // why the model is not loaded here (no data set, or a binarized network)
}

var loadModels = sync.OnceValues(func() ([]model, error) {
	files, err := filepath.Glob(filepath.Join("..", "models", "*.onnx"))
	if err != nil {
		return nil, err
	}
	calib := map[string][]*nn.Tensor{}
	var models []model
	for _, path := range files {
		file := filepath.Base(path)
		// A binarized network takes the binary lowering (tpugen bnn), not
		// the int8 quantizer: TestBinaryModelsRoundTrip covers its layers.
		if strings.HasPrefix(file, "bnn_") {
			models = append(models, model{file: file, skip: "binarized: lowered by tpugen bnn, not the int8 quantizer"})
			continue
		}
		// The calibration images set activation scales only; the weights
		// are quantized from their own range. A model is calibrated on its
		// data set, Fashion-MNIST when its name says so.
		data := dataset.MNIST
		if strings.Contains(file, "fashion") {
			data = dataset.Fashion
		}
		if _, ok := calib[data]; !ok {
			samples, err := calibration(data)
			if err != nil {
				if data == dataset.Fashion && os.Getenv("TPUGEN_REQUIRE_SIMS") == "" {
					models = append(models, model{file: file, skip: err.Error()})
					continue
				}
				return nil, err
			}
			calib[data] = samples
		}
		g, err := nn.Load(path)
		if err != nil {
			return nil, err
		}
		net, err := ptq.Quantize(g, ptq.Options{Calib: quant.CalibConfig{Method: quant.MethodMinMax}, Samples: calib[data]})
		if err != nil {
			return nil, err
		}
		models = append(models, model{file: file, net: net})
	}
	return models, nil
})

// calibration is the first images of a data set's training split.
func calibration(data string) ([]*nn.Tensor, error) {
	train, err := dataset.Load(data, dataset.Train)
	if err != nil {
		return nil, err
	}
	var samples []*nn.Tensor
	for _, px := range train.Images[:8] {
		f := make([]float32, len(px))
		for i, v := range px {
			f[i] = float32(v) / 255
		}
		samples = append(samples, nn.Float32Tensor([]int{1, 1, 28, 28}, f))
	}
	return samples, nil
}

// committedModels returns the loaded models; the two the network issue
// trained must be among them.
func committedModels(t *testing.T) []model {
	t.Helper()
	models, err := loadModels()
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, m := range models {
		files = append(files, m.file)
	}
	for _, want := range []string{"lenet5_mnist.onnx", "fashion_cnn.onnx"} {
		if !slices.Contains(files, want) {
			t.Fatalf("committed model models/%s is missing (found %v)", want, files)
		}
	}
	return models
}

// TestModelsRoundTrip encodes every hardware layer of every committed
// model in every format and decodes it back, exactly.
func TestModelsRoundTrip(t *testing.T) {
	for _, m := range committedModels(t) {
		t.Run(m.file, func(t *testing.T) {
			if m.net == nil {
				t.Skip(m.skip)
			}
			layers := 0
			for _, op := range m.net.Ops {
				if !op.OnHardware() {
					continue
				}
				layers++
				w, err := LayerMatrix(op.Layer)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range Formats {
					roundTrip(t, f, w, op.Name)
				}
			}
			if layers == 0 {
				t.Fatal("no hardware layers")
			}
		})
	}
}

// TestReport prints each committed model's size table and checks every
// size against the package doc's formulas.
func TestReport(t *testing.T) {
	for _, m := range committedModels(t) {
		t.Run(m.file, func(t *testing.T) {
			if m.net == nil {
				t.Skip(m.skip)
			}
			sizes, err := Report(m.net)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range sizes {
				w, err := LayerMatrix(m.net.Ops[hardwareOps(m.net)[i]].Layer)
				if err != nil {
					t.Fatal(err)
				}
				want := formulaSizes(w)
				for _, f := range []Format{Bitmask, CSR, CSC} {
					if s.Bytes[f] != want[f] {
						t.Errorf("%s %v: %d bytes, the layout gives %d", s.Name, f, s.Bytes[f], want[f])
					}
				}
				if rl := s.Bytes[RunLength]; rl < HeaderSize+2*s.Nonzeros {
					t.Errorf("%s run-length: %d bytes for %d nonzeros", s.Name, rl, s.Nonzeros)
				}
			}
			t.Logf("%s: weight bytes per format (ratio to dense)\n%s", m.file, Table(sizes))
		})
	}
}

// TestReportMagnitudePruned prints the size table of LeNet with each
// layer's smallest weights zeroed at 50%, 80% and 90% sparsity: not a
// trained pruned model, only where each format starts to pay.
func TestReportMagnitudePruned(t *testing.T) {
	var lenet *compile.Network
	for _, m := range committedModels(t) {
		if m.file == "lenet5_mnist.onnx" {
			lenet = m.net
		}
	}
	for _, sparsity := range []float64{0.5, 0.8, 0.9} {
		net := *lenet
		net.Ops = nil
		for _, op := range lenet.Ops {
			o := *op
			if op.OnHardware() {
				l := *op.Layer
				l.Weights = magnitudePrune(l.Weights, sparsity)
				o.Layer = &l
			}
			net.Ops = append(net.Ops, &o)
		}
		sizes, err := Report(&net)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sizes {
			if got := s.Sparsity(); got < sparsity-0.01 {
				t.Fatalf("%s pruned to %.0f%%: sparsity %.3f", s.Name, 100*sparsity, got)
			}
		}
		t.Logf("lenet5_mnist.onnx, every layer magnitude-pruned to %.0f%%:\n%s", 100*sparsity, Table(sizes))
	}
}

// magnitudePrune zeroes the round(sparsity·len(w)) smallest |w| (ties by
// position).
func magnitudePrune(w []int8, sparsity float64) []int8 {
	order := make([]int, len(w))
	for i := range order {
		order[i] = i
	}
	abs := func(v int8) int { return max(int(v), -int(v)) }
	slices.SortStableFunc(order, func(a, b int) int { return abs(w[a]) - abs(w[b]) })
	out := append([]int8(nil), w...)
	for _, i := range order[:int(sparsity*float64(len(w))+0.5)] {
		out[i] = 0
	}
	return out
}

// formulaSizes is the package doc's size of each format for m, but
// run-length's (which depends on the runs).
func formulaSizes(m Matrix) [CSC + 1]int {
	nnz, lastCol, lastRow := 0, 0, 0
	for i, v := range m.Data {
		if v != 0 {
			nnz++
			lastRow, lastCol = max(lastRow, i/m.Cols), max(lastCol, i%m.Cols)
		}
	}
	var s [CSC + 1]int
	s[Bitmask] = HeaderSize + (m.Rows*m.Cols+7)/8 + nnz
	w := indexWidth(max(nnz, lastCol)) / 8
	s[CSR] = HeaderSize + (m.Rows+1+nnz)*w + nnz
	w = indexWidth(max(nnz, lastRow)) / 8
	s[CSC] = HeaderSize + (m.Cols+1+nnz)*w + nnz
	return s
}

// hardwareOps are the indexes of net's hardware layers.
func hardwareOps(net *compile.Network) []int {
	var ops []int
	for i, op := range net.Ops {
		if op.OnHardware() {
			ops = append(ops, i)
		}
	}
	return ops
}
