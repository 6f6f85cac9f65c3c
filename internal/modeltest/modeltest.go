// Package modeltest loads the committed models for tests: import, the data
// set, post-training quantization on training images (pixels / 255, as
// models/manifest.json gives for every committed model).
//
// modeltest is for tests only: nothing outside _test.go files imports it.
package modeltest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/dataset"
	"github.com/tpugen/tpugen/nn"
	"github.com/tpugen/tpugen/nn/ptq"
	"github.com/tpugen/tpugen/quant"
)

// Model is a committed model quantized for a test.
type Model struct {
	Net  *compile.Network
	Test *dataset.Set
	// Image is test image i as the network's int8 input.
	Image func(i int) []int8
}

// Path is the path of a committed model file.
func Path(file string) string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), "..", "..", "models", file)
}

// Quantize imports models/file, loads its data set (dataset.MNIST or
// dataset.Fashion; Fashion skips the test when Debian's package is
// missing, unless TPUGEN_REQUIRE_SIMS is set) and quantizes the model with
// min-max calibration on the first calib training images.
func Quantize(t testing.TB, file, data string, calib int) *Model {
	t.Helper()
	g, err := nn.Load(Path(file))
	if err != nil {
		t.Fatal(err)
	}
	if data == dataset.Fashion {
		if _, err := os.Stat(dataset.FashionDir); err != nil && os.Getenv("TPUGEN_REQUIRE_SIMS") == "" {
			t.Skip("dataset-fashion-mnist is not installed (scripts/setup.sh installs it)")
		}
	}
	train, err := dataset.Load(data, dataset.Train)
	if err != nil {
		t.Fatal(err)
	}
	test, err := dataset.Load(data, dataset.Test)
	if err != nil {
		t.Fatal(err)
	}
	var samples []*nn.Tensor
	for i := 0; i < calib; i++ {
		samples = append(samples, nn.Float32Tensor([]int{1, 1, test.H, test.W}, Pixels(train.Images[i])))
	}
	net, err := ptq.Quantize(g, ptq.Options{Calib: quant.CalibConfig{Method: quant.MethodMinMax}, Samples: samples})
	if err != nil {
		t.Fatal(err)
	}
	in := net.Tensors[net.Input].Params
	return &Model{Net: net, Test: test, Image: func(i int) []int8 { return quant.QuantizeInt8(Pixels(test.Images[i]), in) }}
}

// Pixels scales 8-bit pixels to 0..1.
func Pixels(px []byte) []float32 {
	f := make([]float32, len(px))
	for i, v := range px {
		f[i] = float32(v) / 255
	}
	return f
}
