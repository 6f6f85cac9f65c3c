package quant

import "fmt"

// FCParams configures an int8 FullyConnected layer.
type FCParams struct {
	InputZeroPoint int32
	// WeightZeroPoint is 0 for the symmetric weights the design uses; TFLite
	// still accepts asymmetric int8 weights (its filter_offset).
	WeightZeroPoint int32
	Output          OutputStage
}

// FullyConnectedAccumulate returns the raw int32 accumulators
// Σ (w − wZP)(x − xZP) of input [batches × depth] and weights
// [units × depth], wrapping like int32 hardware.
func FullyConnectedAccumulate(in []int8, batches int, weights []int8, units int, inputZeroPoint, weightZeroPoint int32) ([]int32, error) {
	if batches <= 0 || units <= 0 || len(in)%batches != 0 {
		return nil, fmt.Errorf("fully connected: %d inputs do not split into %d batches", len(in), batches)
	}
	depth := len(in) / batches
	if len(weights) != units*depth {
		return nil, fmt.Errorf("fully connected: %d weights for %d units × depth %d", len(weights), units, depth)
	}
	acc := make([]int32, batches*units)
	for b := 0; b < batches; b++ {
		x := in[b*depth : (b+1)*depth]
		for u := 0; u < units; u++ {
			w := weights[u*depth : (u+1)*depth]
			var sum int32
			for d := range x {
				sum += (int32(w[d]) - weightZeroPoint) * (int32(x[d]) - inputZeroPoint)
			}
			acc[b*units+u] = sum
		}
	}
	return acc, nil
}

// FullyConnected is TFLite's int8 fully connected layer (per-tensor or
// per-channel output stage). bias may be nil. Output is [batches × units].
func FullyConnected(in []int8, batches int, weights []int8, units int, bias []int32, p FCParams) ([]int8, error) {
	if bias != nil && len(bias) != units {
		return nil, fmt.Errorf("fully connected: bias has %d entries for %d units", len(bias), units)
	}
	if err := p.Output.check(units); err != nil {
		return nil, fmt.Errorf("fully connected: %w", err)
	}
	acc, err := FullyConnectedAccumulate(in, batches, weights, units, p.InputZeroPoint, p.WeightZeroPoint)
	if err != nil {
		return nil, err
	}
	return requantizeChannels(acc, units, bias, p.Output), nil
}
