package core

import (
	"fmt"
	"strings"
)

// Encoding is the instruction set in the form the generator writes into
// the manifest (JSON) and the C header: the word and opcode widths, every
// instruction's opcode and fields, and the error codes of the status
// register. It is derived from Formats, never written by hand.
type Encoding struct {
	WordBits     int                `json:"word_bits"`
	OpcodeBits   int                `json:"opcode_bits"`
	Instructions []EncodedInst      `json:"instructions"`
	Errors       []EncodedErrorCode `json:"errors"`
	ParamBlock   EncodedParamBlock  `json:"param_block"`
}

// EncodedInst is one instruction of the Encoding.
type EncodedInst struct {
	Mnemonic string         `json:"mnemonic"`
	Opcode   int            `json:"opcode"`
	Fields   []EncodedField `json:"fields"`
}

// EncodedField is one field: Width bits from bit LSB.
type EncodedField struct {
	Name   string `json:"name"`
	LSB    int    `json:"lsb"`
	Width  int    `json:"width"`
	Signed bool   `json:"signed"`
}

// EncodedErrorCode is one value of the status register's error field.
type EncodedErrorCode struct {
	Code int    `json:"code"`
	Name string `json:"name"`
}

// EncodedParamBlock describes the parameter block LOAD_PARAMS reads:
// LaneWords int32 words per lane, then CtrlWords control words, then
// TableBytes table bytes.
type EncodedParamBlock struct {
	LaneWords  []string `json:"lane_words"`
	CtrlWords  []string `json:"ctrl_words"`
	TableBytes int      `json:"table_bytes"`
}

// Encode returns the instruction set's Encoding.
func Encode() Encoding {
	e := Encoding{WordBits: WordBits, OpcodeBits: OpcodeBits,
		ParamBlock: EncodedParamBlock{
			LaneWords: []string{"bias", "multiplier", "shift", "out_zp", "act_min", "act_max"},
			CtrlWords: []string{"act_mode", "leaky_in_zp", "leaky_out_zp", "mult_identity", "shift_identity", "mult_alpha", "shift_alpha",
				"pool_enable", "pool_kind", "pool_kh", "pool_kw", "pool_sh", "pool_sw"},
			TableBytes: 256}}
	for _, f := range Formats {
		in := EncodedInst{Mnemonic: f.Mnemonic, Opcode: int(f.Op), Fields: []EncodedField{}}
		for _, fd := range f.Fields {
			in.Fields = append(in.Fields, EncodedField{Name: fd.Name, LSB: fd.LSB, Width: fd.Width, Signed: fd.Signed})
		}
		e.Instructions = append(e.Instructions, in)
	}
	for c := range errorNames {
		e.Errors = append(e.Errors, EncodedErrorCode{Code: c, Name: errorNames[c]})
	}
	return e
}

// Table is the instruction set as text, one line per field: what the
// README and the C header's comments show.
func Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d-bit words; opcode in bits [%d:0]\n", WordBits, OpcodeBits-1)
	for _, f := range Formats {
		fmt.Fprintf(&b, "%-12s opcode %d: %s\n", f.Mnemonic, f.Op, f.Doc)
		for _, fd := range f.Fields {
			sign := "u"
			if fd.Signed {
				sign = "s"
			}
			fmt.Fprintf(&b, "  %-10s [%3d:%3d] %s%-2d %s\n", fd.Name, fd.LSB+fd.Width-1, fd.LSB, sign, fd.Width, fd.Doc)
		}
	}
	b.WriteString("error codes:")
	for c, n := range errorNames {
		fmt.Fprintf(&b, " %d %s;", c, n)
	}
	b.WriteString("\n")
	return b.String()
}
