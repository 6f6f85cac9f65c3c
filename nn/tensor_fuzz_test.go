package nn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseTensor feeds arbitrary bytes to ParseTensor (the serialized
// TensorProto files of ONNX test data, and every initializer of a model goes
// through the same conversion): it returns a tensor whose data matches its
// shape, or a one-line error, never panics. Seeds: a few input and output
// tensors of the ONNX backend node tests and testdata/fuzz/FuzzParseTensor.
func FuzzParseTensor(f *testing.F) {
	for _, test := range []string{"test_conv_with_strides_padding", "test_maxpool_2d_pads", "test_cast_FLOAT_to_FLOAT16", "test_gemm_default_zero_bias", "test_quantizelinear"} {
		files, _ := filepath.Glob(filepath.Join(onnxTestData, "node", test, "test_data_set_0", "*.pb"))
		for _, path := range files {
			if data, err := os.ReadFile(path); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte{0x08, 0x02, 0x08, 0x03, 0x10, 0x01, 0x4a, 0x18}) // dims 2x3 float, raw data cut short
	f.Fuzz(func(t *testing.T, data []byte) {
		x, _, err := ParseTensor(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error of several lines: %q", err)
			}
			return
		}
		if _, err := numElements(x.Shape); err != nil {
			t.Fatalf("accepted tensor with shape %v: %v", x.Shape, err)
		}
		if err := x.Check(); err != nil || x.dataLen() != x.Len() {
			t.Fatalf("accepted tensor of shape %v holds %d elements: %v", x.Shape, x.dataLen(), err)
		}
	})
}
