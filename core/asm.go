package core

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Assemble assembles a program: one instruction per line, "mnemonic
// field=value ...", values decimal or 0x hex (negative where the field is
// signed), '#' starting a comment. Omitted fields take their defaults. A
// malformed line gives one error naming its line.
func Assemble(src string) ([]Word, error) { return AssembleFile("", src) }

// AssembleFile is Assemble with errors prefixed by the source's name
// ("prog.s:7: ...").
func AssembleFile(name, src string) ([]Word, error) {
	var words []Word
	for i, line := range strings.Split(src, "\n") {
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		toks := strings.Fields(line)
		if len(toks) == 0 {
			continue
		}
		in, err := parseLine(toks)
		if err == nil {
			var w Word
			if w, err = in.Encode(); err == nil {
				words = append(words, w)
				continue
			}
		}
		where := fmt.Sprintf("line %d", i+1)
		if name != "" {
			where = fmt.Sprintf("%s:%d", name, i+1)
		}
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return words, nil
}

func parseLine(toks []string) (Inst, error) {
	f, ok := formatByMnemonic(strings.ToLower(toks[0]))
	if !ok {
		return Inst{}, fmt.Errorf("unknown instruction %q", toks[0])
	}
	vals := map[string]int64{}
	setv := func(name, text string) error {
		if _, dup := vals[name]; dup {
			return fmt.Errorf("field %q given twice", name)
		}
		v, err := strconv.ParseInt(text, 0, 64)
		if err != nil {
			return fmt.Errorf("%s: %s=%q is not an integer", f.Mnemonic, name, text)
		}
		vals[name] = v
		return nil
	}
	for _, t := range toks[1:] {
		key, val, ok := strings.Cut(t, "=")
		if !ok || key == "" || val == "" {
			return Inst{}, fmt.Errorf("%q is not field=value", t)
		}
		if g := groupOf(f, key); g != nil {
			parts := strings.Split(val, g.Sep)
			if len(parts) != 1 && len(parts) != len(g.Parts) {
				return Inst{}, fmt.Errorf("%s: %s=%q needs 1 or %d values separated by %q", f.Mnemonic, key, val, len(g.Parts), g.Sep)
			}
			for i, p := range g.Parts {
				if err := setv(p, parts[min(i, len(parts)-1)]); err != nil {
					return Inst{}, err
				}
			}
			continue
		}
		if !hasField(f, key) {
			return Inst{}, fmt.Errorf("unknown field %q for %s", key, f.Mnemonic)
		}
		if err := setv(key, val); err != nil {
			return Inst{}, err
		}
	}
	return New(f.Op, vals)
}

func groupOf(f *Format, name string) *Group {
	for i := range f.Groups {
		if f.Groups[i].Name == name {
			return &f.Groups[i]
		}
	}
	return nil
}

// hexFields are addresses, printed in hex.
var hexFields = map[string]bool{"ub": true, "waddr": true, "out": true}

// String is the instruction in assembly syntax: every field, groups
// written compactly.
func (in Inst) String() string {
	f, ok := FormatOf(in.Op)
	if !ok || len(in.Args) != len(f.Fields) {
		return fmt.Sprintf("# illegal opcode %d", in.Op)
	}
	var b strings.Builder
	b.WriteString(f.Mnemonic)
	done := map[string]bool{}
	for i, fd := range f.Fields {
		if done[fd.Name] {
			continue
		}
		if g := groupWith(f, fd.Name); g != nil {
			var parts []string
			same := true
			for _, p := range g.Parts {
				v := in.Get(p)
				same = same && v == in.Get(g.Parts[0])
				parts = append(parts, strconv.FormatInt(v, 10))
				done[p] = true
			}
			if same {
				parts = parts[:1]
			}
			fmt.Fprintf(&b, " %s=%s", g.Name, strings.Join(parts, g.Sep))
			continue
		}
		if hexFields[fd.Name] {
			fmt.Fprintf(&b, " %s=%#x", fd.Name, in.Args[i])
		} else {
			fmt.Fprintf(&b, " %s=%d", fd.Name, in.Args[i])
		}
	}
	return b.String()
}

func groupWith(f *Format, field string) *Group {
	for i := range f.Groups {
		for _, p := range f.Groups[i].Parts {
			if p == field {
				return &f.Groups[i]
			}
		}
	}
	return nil
}

// Disassemble prints a program, one instruction per line; an illegal word
// is an error naming its index.
func Disassemble(words []Word) (string, error) {
	var b strings.Builder
	for i, w := range words {
		in, err := Decode(w)
		if err != nil {
			return "", fmt.Errorf("word %d: %w", i, err)
		}
		b.WriteString(in.String())
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// WordBytes is the size of an encoded instruction in a binary program.
const WordBytes = WordBits / 8

// MarshalBinary writes a program as WordBytes bytes per instruction,
// limbs little-endian, limb 0 first.
func MarshalBinary(words []Word) []byte {
	out := make([]byte, 0, len(words)*WordBytes)
	for _, w := range words {
		for _, l := range w {
			out = binary.LittleEndian.AppendUint64(out, l)
		}
	}
	return out
}

// UnmarshalBinary reads a binary program (no decoding: see Decode).
func UnmarshalBinary(b []byte) ([]Word, error) {
	if len(b)%WordBytes != 0 {
		return nil, fmt.Errorf("binary program of %d bytes is not a whole number of %d-byte instructions", len(b), WordBytes)
	}
	if len(b) == 0 {
		return nil, errors.New("binary program is empty")
	}
	words := make([]Word, len(b)/WordBytes)
	for i := range words {
		for j := range words[i] {
			words[i][j] = binary.LittleEndian.Uint64(b[i*WordBytes+j*8:])
		}
	}
	return words, nil
}
