package core

import (
	"strings"
	"testing"
)

const sample = `# a conv layer
read_host ub=0x0 len=784
read_weights waddr=0 len=150
load_params set=0 len=480   # a block for 8 lanes
convolve ub=0 h=28 w=28 c=1 k=5x5 s=1 pad=2 zp=-128 waddr=0 n=6 acc=0
activate acc=0 m=784 n=6 set=0 out=0x400 pitch=6 fh=28 fw=28
convolve ub=0x10 images=2 h=9 w=7 c=3 k=3x2 s=2x1 d=1x2 pad=1,0,2,1 zp=5 waddr=0x20 n=4 acc=7 accumulate=1
matmul ub=0x100 m=4 k=400 waddr=0 n=8 acc=0
sync
write_host ub=0x400 len=1176
halt
`

func TestAssembleRoundTrip(t *testing.T) {
	words, err := AssembleFile("prog.s", sample)
	if err != nil {
		t.Fatal(err)
	}
	if len(words) != 10 {
		t.Fatalf("%d words, want 10", len(words))
	}
	text, err := Disassemble(words)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Assemble(text)
	if err != nil {
		t.Fatalf("reassembling\n%s: %v", text, err)
	}
	if len(again) != len(words) {
		t.Fatalf("%d words after the round trip, want %d", len(again), len(words))
	}
	for i := range words {
		if again[i] != words[i] {
			t.Errorf("word %d: %x after the round trip, want %x", i, again[i], words[i])
		}
	}
	text2, _ := Disassemble(again)
	if text2 != text {
		t.Errorf("disassembly is not stable:\n%s\nvs\n%s", text, text2)
	}
	for _, want := range []string{"k=5 s=1 d=1 pad=2 zp=-128", "k=3x2 s=2x1 d=1x2 pad=1,0,2,1 zp=5", "out=0x400"} {
		if !strings.Contains(text, want) {
			t.Errorf("disassembly lacks %q:\n%s", want, text)
		}
	}
	bin := MarshalBinary(words)
	back, err := UnmarshalBinary(bin)
	if err != nil || len(back) != len(words) || back[3] != words[3] {
		t.Fatalf("binary round trip: %v", err)
	}
}

func TestAssembleErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"halt\nconvolve strid=2\n", `prog.s:2: unknown field "strid" for convolve`},
		{"jump x=1", `prog.s:1: unknown instruction "jump"`},
		{"\n\nread_host ub=0x1000000 len=1", `prog.s:3: read_host: ub=16777216 out of range [0, 16777215]`},
		{"convolve zp=200", `prog.s:1: convolve: zp=200 out of range [-128, 127]`},
		{"matmul m=x", `prog.s:1: matmul: m="x" is not an integer`},
		{"matmul m", `prog.s:1: "m" is not field=value`},
		{"convolve k=1x2x3", `prog.s:1: convolve: k="1x2x3" needs 1 or 2 values separated by "x"`},
		{"matmul m=1 m=2", `prog.s:1: field "m" given twice`},
	} {
		_, err := AssembleFile("prog.s", tc.src)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q: error %v, want %s", tc.src, err, tc.want)
		}
	}
}

func TestDecodeIllegal(t *testing.T) {
	for _, w := range []Word{{15}, {9}, {0, 1}, {1 | 1<<60}} {
		if _, err := Decode(w); err == nil {
			t.Errorf("%x decodes", w)
		} else if f, ok := err.(*Fault); !ok || f.Code != ErrIllegalOpcode {
			t.Errorf("%x: %v, want an illegal-opcode fault", w, err)
		}
	}
	if _, err := UnmarshalBinary(make([]byte, 33)); err == nil {
		t.Error("33 bytes unmarshal")
	}
}

func TestFormatsFit(t *testing.T) {
	for _, f := range Formats {
		end := OpcodeBits
		for _, fd := range f.Fields {
			if fd.LSB != end || fd.Width < 1 {
				t.Errorf("%s.%s at bit %d width %d", f.Mnemonic, fd.Name, fd.LSB, fd.Width)
			}
			end += fd.Width
		}
		if end > WordBits {
			t.Errorf("%s needs %d bits", f.Mnemonic, end)
		}
	}
}

func FuzzAssemble(f *testing.F) {
	f.Add(sample)
	f.Add("convolve k=5x5 pad=1,2,3,4\nhalt")
	f.Fuzz(func(t *testing.T, src string) {
		words, err := Assemble(src)
		if err != nil {
			return
		}
		text, err := Disassemble(words)
		if err != nil {
			t.Fatalf("assembled words do not disassemble: %v", err)
		}
		again, err := Assemble(text)
		if err != nil || len(again) != len(words) {
			t.Fatalf("disassembly does not reassemble: %v\n%s", err, text)
		}
		for i := range words {
			if again[i] != words[i] {
				t.Fatalf("word %d differs after the round trip", i)
			}
		}
	})
}

func FuzzDisassemble(f *testing.F) {
	words, _ := Assemble(sample)
	f.Add(MarshalBinary(words))
	f.Add(make([]byte, 32))
	f.Fuzz(func(t *testing.T, b []byte) {
		words, err := UnmarshalBinary(b)
		if err != nil {
			return
		}
		text, err := Disassemble(words)
		if err != nil {
			return
		}
		again, err := Assemble(text)
		if err != nil {
			t.Fatalf("disassembly does not reassemble: %v\n%s", err, text)
		}
		for i := range words {
			if again[i] != words[i] {
				t.Fatalf("word %d differs after the round trip", i)
			}
		}
	})
}

func TestEncoding(t *testing.T) {
	e := Encode()
	if len(e.Instructions) != len(Formats) || e.WordBits != 256 {
		t.Fatalf("encoding: %d instructions, %d bits", len(e.Instructions), e.WordBits)
	}
	if len(e.ParamBlock.LaneWords) != laneWords || len(e.ParamBlock.CtrlWords) != ctrlWords {
		t.Errorf("parameter block: %d lane and %d control words, want %d and %d", len(e.ParamBlock.LaneWords), len(e.ParamBlock.CtrlWords), laneWords, ctrlWords)
	}
	for i, c := range e.Errors {
		if c.Code != i || ErrorCode(i).String() != c.Name {
			t.Errorf("error %d: %+v", i, c)
		}
	}
	if len(e.Errors) != int(ErrNoHalt)+1 {
		t.Errorf("%d error codes, want %d", len(e.Errors), ErrNoHalt+1)
	}
}
