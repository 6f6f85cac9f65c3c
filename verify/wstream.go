package verify

import (
	"fmt"
	"math/big"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
)

// weightStream is what goes on w_in for a plan's dense weight rows: the
// rows themselves, or the compressed beats when the configuration puts a
// weight decoder in front of the array.
func weightStream(man *arch.Manifest, dense []*big.Int) ([]*big.Int, error) {
	if !man.Config.WeightCompression.IsCompressed() {
		return dense, nil
	}
	beats, _, _, err := compile.CompressWeights(man, dense)
	if err != nil {
		return nil, fmt.Errorf("w_in: %w", err)
	}
	return beats, nil
}
