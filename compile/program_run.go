package compile

import (
	"fmt"

	"github.com/tpugen/tpugen/core"
	"github.com/tpugen/tpugen/quant"
)

// HostValue is a tensor's value on the host for the whole batch.
type HostValue struct {
	Data  []int8
	Shape quant.Shape
}

// Executor runs one segment's words on a core, consuming the host input
// stream and returning what the segment wrote to the host. core.Machine
// is one; verify.CoreExecutor (the RTL core in a simulator) is another.
type Executor interface {
	Run(words []core.Word, in []byte) ([]byte, error)
}

// Stream is the segment's host input stream, given the host's tensors:
// the bytes any executor of the segment consumes, in order.
func (s *Segment) Stream(host map[string]HostValue) ([]byte, error) {
	var stream []byte
	for _, c := range s.In {
		if c.Tensor == "" {
			stream = append(stream, c.Data...)
			continue
		}
		v, ok := host[c.Tensor]
		if !ok {
			return nil, fmt.Errorf("reads tensor %s, which the host does not have", c.Tensor)
		}
		data := v.Data
		if c.Len > 0 {
			if c.Off+c.Len > len(data) {
				return nil, fmt.Errorf("reads bytes [%d, %d) of tensor %s, which has %d", c.Off, c.Off+c.Len, c.Tensor, len(data))
			}
			data = data[c.Off : c.Off+c.Len]
		}
		for _, b := range data {
			stream = append(stream, byte(b))
		}
	}
	return stream, nil
}

// RunProgram runs the program on a batch (input: batch images, NHWC):
// segment after segment on the executor, host ops on the host with quant's
// kernels in between. It returns the values of every tensor the host saw,
// the network's output among them.
func RunProgram(x Executor, p *Program, input []int8) (map[string]HostValue, error) {
	s := p.Net.Tensors[p.Net.Input].Shape
	s.N = p.Batch
	if len(input) != s.Len() {
		return nil, fmt.Errorf("program %s: input has %d values, a batch of %d needs %d", p.Net.Name, len(input), p.Batch, s.Len())
	}
	vals := map[string]HostValue{p.Net.Input: {Data: input, Shape: s}}
	for i, seg := range p.Segments {
		stream, err := seg.Stream(vals)
		if err != nil {
			return nil, fmt.Errorf("segment %d: %w", i, err)
		}
		words, err := seg.Words()
		if err != nil {
			return nil, fmt.Errorf("segment %d: %w", i, err)
		}
		out, err := x.Run(words, stream)
		if err != nil {
			return nil, fmt.Errorf("segment %d: %w", i, err)
		}
		for _, t := range seg.Out {
			n := t.Shape.Len()
			if len(out) < n {
				return nil, fmt.Errorf("segment %d wrote %d bytes, %s needs %d", i, len(out), t.Tensor, n)
			}
			d := make([]int8, n)
			for j := range d {
				d[j] = int8(out[j])
			}
			vals[t.Tensor] = HostValue{Data: d, Shape: t.Shape}
			out = out[n:]
		}
		if len(out) != 0 {
			return nil, fmt.Errorf("segment %d wrote %d bytes more than its transfers", i, len(out))
		}
		for _, op := range seg.Host {
			var ins [][]int8
			var shapes []quant.Shape
			for _, name := range op.Inputs {
				ins = append(ins, vals[name].Data)
				shapes = append(shapes, vals[name].Shape)
			}
			d, sh, err := op.RunHost(ins, shapes)
			if err != nil {
				return nil, fmt.Errorf("segment %d, host op %s: %w", i, op.Name, err)
			}
			vals[op.Output] = HostValue{Data: d, Shape: sh}
		}
	}
	if _, ok := vals[p.Net.Output]; !ok {
		return nil, fmt.Errorf("program %s never delivers the output %s", p.Net.Name, p.Net.Output)
	}
	return vals, nil
}

var _ Executor = (*core.Machine)(nil)
