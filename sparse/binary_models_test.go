package sparse

import (
	"path/filepath"
	"testing"

	"github.com/tpugen/tpugen/dataset"
	"github.com/tpugen/tpugen/internal/modeltest"
	"github.com/tpugen/tpugen/nn"
	"github.com/tpugen/tpugen/nn/ptq"
)

// TestBinaryModelsRoundTrip is TestModelsRoundTrip for the committed
// binarized networks, which take the binary lowering: every layer's
// weights (int8, or packed sign lanes) round-trip exactly in every format.
func TestBinaryModelsRoundTrip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "models", "bnn_*.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no committed binarized model (models/bnn_*.onnx)")
	}
	train, err := dataset.Load(dataset.MNIST, dataset.Train)
	if err != nil {
		t.Fatal(err)
	}
	var calib []float32
	for _, im := range train.Images[:8] {
		calib = append(calib, modeltest.Pixels(im)...)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			g, err := nn.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			net, err := ptq.LowerBinary(g, 8, 1.0/255, -128, calib)
			if err != nil {
				t.Fatal(err)
			}
			binary := 0
			for _, l := range net.Layers {
				if l.Binary {
					binary++
				}
				w, err := LayerMatrix(l.Layer)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range Formats {
					roundTrip(t, f, w, l.Name)
				}
			}
			if binary == 0 {
				t.Fatalf("%d binary layers", binary)
			}
		})
	}
}
