package ptq

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tpugen/tpugen/nn"
	"github.com/tpugen/tpugen/quant"
)

// FuzzQuantize follows `tpugen run -model M.onnx` on arbitrary bytes:
// import, then quantize on two calibration images of the declared input
// shape. Neither may panic; errors are one line. Seeds: the committed QDQ
// and float models whole, truncated at several lengths and with bytes
// flipped (so the fuzzer starts from models that are almost valid), and
// testdata/fuzz/FuzzQuantize.
func FuzzQuantize(f *testing.F) {
	for _, name := range []string{"lenet5_mnist_qdq.onnx", "fashion_cnn_qdq_pc.onnx", "lenet5_mnist.onnx"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "models", name))
		if err != nil {
			continue
		}
		f.Add(data)
		for _, n := range []int{16, 200, len(data) / 3, len(data) - 1} {
			f.Add(data[:n])
		}
		for _, at := range []int{10, 100, len(data) / 2, len(data) - 40} {
			mutated := append([]byte(nil), data...)
			mutated[at] ^= 0x5a
			f.Add(mutated)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := nn.Parse(data, "m.onnx")
		if err != nil {
			oneLine(t, err)
			return
		}
		if len(g.Inputs) != 1 {
			return
		}
		shape := append([]int(nil), g.Inputs[0].Shape...)
		n := 1
		for i, d := range shape {
			if i == 0 || d < 0 {
				d = 1
			}
			shape[i] = d
			n *= d
		}
		// Calibration runs the float model: keep each input cheap.
		if len(shape) != 4 || n > 4096 || n < 1 {
			return
		}
		var samples []*nn.Tensor
		for s := 0; s < 2; s++ {
			px := make([]float32, n)
			for i := range px {
				px[i] = float32((i*7+s*13)%17) / 17
			}
			samples = append(samples, nn.Float32Tensor(shape, px))
		}
		if _, err := Quantize(g, Options{Calib: quant.CalibConfig{Method: quant.MethodMinMax}, Samples: samples}); err != nil {
			oneLine(t, err)
		}
	})
}

func oneLine(t *testing.T, err error) {
	t.Helper()
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("error of several lines: %q", err)
	}
}
