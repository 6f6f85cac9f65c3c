//go:build ort

package ort

import (
	"errors"
	"fmt"
	"os"

	ort "github.com/yalue/onnxruntime_go"
)

// LibraryEnv names the environment variable holding the path of
// libonnxruntime.so.
const LibraryEnv = "TPUGEN_ORT_LIB"

// Init loads ONNX Runtime from the library LibraryEnv names. Call it once
// per process; Close releases it.
func Init() error {
	lib := os.Getenv(LibraryEnv)
	if lib == "" {
		return fmt.Errorf("ort: set %s to the path of libonnxruntime.so (scripts/ort-check.sh does)", LibraryEnv)
	}
	if _, err := os.Stat(lib); err != nil {
		return fmt.Errorf("ort: %w", err)
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(); err != nil {
		return fmt.Errorf("ort: loading %s: %w", lib, err)
	}
	return nil
}

// Close releases ONNX Runtime.
func Close() error { return ort.DestroyEnvironment() }

// Version is ONNX Runtime's version string.
func Version() string { return ort.GetVersion() }

// Session is one model loaded with its input and output names, run on the
// CPU execution provider (MLAS) with one thread and ONNX Runtime's default
// graph optimizations, which fuse QDQ groups into QLinear kernels.
type Session struct {
	s       *ort.DynamicAdvancedSession
	outputs []string
}

// NewSession loads an ONNX model from its bytes.
func NewSession(model []byte, inputs, outputs []string) (*Session, error) {
	opt, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("ort: %w", err)
	}
	defer opt.Destroy()
	if err := opt.SetIntraOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("ort: %w", err)
	}
	if err := opt.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("ort: %w", err)
	}
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(model, inputs, outputs, opt)
	if err != nil {
		return nil, fmt.Errorf("ort: session: %w", err)
	}
	return &Session{s: s, outputs: outputs}, nil
}

// Close releases the session.
func (s *Session) Close() error { return s.s.Destroy() }

// Output is one output tensor: its shape and its values as int8 (a uint8
// tensor's codes less 128, which is how tpugen holds uint8 activations:
// the same scale, the zero point less 128) or float32.
type Output struct {
	Shape []int64
	Int8  []int8
	Float []float32
}

// Run runs the model on inputs (in the session's input order).
func (s *Session) Run(inputs ...ort.Value) ([]Output, error) {
	outs := make([]ort.Value, len(s.outputs))
	if err := s.s.Run(inputs, outs); err != nil {
		return nil, fmt.Errorf("ort: run: %w", err)
	}
	res := make([]Output, len(outs))
	var errs []error
	for i, v := range outs {
		o := Output{Shape: v.GetShape()}
		switch t := v.(type) {
		case *ort.Tensor[uint8]:
			for _, u := range t.GetData() {
				o.Int8 = append(o.Int8, int8(int(u)-128))
			}
		case *ort.Tensor[int8]:
			o.Int8 = append(o.Int8, t.GetData()...)
		case *ort.Tensor[float32]:
			o.Float = append(o.Float, t.GetData()...)
		default:
			errs = append(errs, fmt.Errorf("ort: output %s has unexpected type %T", s.outputs[i], v))
		}
		res[i] = o
		v.Destroy()
	}
	return res, errors.Join(errs...)
}

// Float32 makes an input tensor.
func Float32(shape []int64, data []float32) (ort.Value, error) {
	return ort.NewTensor(ort.NewShape(shape...), data)
}

// Int8 makes an int8 input tensor.
func Int8(shape []int64, data []int8) (ort.Value, error) {
	return ort.NewTensor(ort.NewShape(shape...), data)
}
