package blocks

import (
	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/hdl"
)

// weightDecoder is the decoder configuration the matrix unit's
// weight_compression asks for.
func (c MatrixConfig) weightDecoder() WeightDecoderConfig {
	return WeightDecoderConfig{Lanes: c.Cols, Rows: c.Rows, WeightBits: c.WeightBits}
}

// addWeightDecoder puts a WeightDecoder between the top's w_in (now the
// compressed stream) and the array, whose weight rows arrive on b.win as
// before, and raises the decoder's error flag on the w_err output.
func (b *mxuBuilder) addWeightDecoder() error {
	m := b.m
	dec, err := NewWeightDecoder(b.cfg.weightDecoder())
	if err != nil {
		return err
	}
	ext := m.InStream(arch.StreamW, hdl.U(dec.Width))
	werr := m.Output(arch.WeightErrorPort, hdl.U(1))
	b.win = hdl.Stream{Valid: m.Wire("wdec_valid", hdl.U(1)), Ready: m.Wire("wdec_ready", hdl.U(1)), Data: m.Wire("wdec_data", hdl.U(b.wl.next))}
	di := m.Instance("wdec", dec.Module)
	di.In(dec.In.Valid, ext.Valid)
	di.In(dec.In.Data, ext.Data)
	m.Set(ext.Ready, di.Out(dec.In.Ready))
	m.Set(b.win.Valid, di.Out(dec.Out.Valid))
	m.Set(b.win.Data, di.Out(dec.Out.Data))
	di.In(dec.Out.Ready, b.win.Ready)
	m.Set(werr, di.Out(dec.Err))
	b.wdec = &StreamPort{Name: arch.StreamW, Dir: "in", Valid: arch.StreamW + "_valid", Ready: arch.StreamW + "_ready",
		Data: arch.StreamW + "_data", Width: dec.Width, Fields: dec.Fields}
	return nil
}
