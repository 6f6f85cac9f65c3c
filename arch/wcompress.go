package arch

// WeightCompression selects how weights cross the w_in interface.
type WeightCompression uint8

const (
	// WeightDense sends one beat per dense weight row, as the array takes it.
	WeightDense WeightCompression = iota
	// WeightBitmask sends each weight tile as bitmask records (a lane mask,
	// then the nonzero bytes) packed into beats of bytes, count and last; a
	// decoder in front of the array expands them. The format is
	// blocks.WeightDecoder's.
	WeightBitmask
)

var weightCompressionNames = []string{"none", "bitmask"}

func (w WeightCompression) String() string {
	return name(weightCompressionNames, "WeightCompression", int(w))
}
func (w WeightCompression) MarshalText() ([]byte, error) {
	return marshal(weightCompressionNames, "weight_compression", int(w))
}
func (w *WeightCompression) UnmarshalText(b []byte) error {
	return unmarshal(weightCompressionNames, "weight_compression", b, (*uint8)(w))
}

// IsCompressed reports whether w_in carries compressed beats.
func (w WeightCompression) IsCompressed() bool { return w != WeightDense }

// WeightErrorPort is the top-level output the weight decoder raises (and
// holds until reset) when a compressed stream is malformed.
const WeightErrorPort = "w_err"
