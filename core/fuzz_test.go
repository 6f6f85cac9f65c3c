package core

import (
	"regexp"
	"strings"
	"testing"
)

// asmErrRE is the shape of every assembler error: the file and line, then
// the message.
var asmErrRE = regexp.MustCompile(`^prog\.s:[0-9]+: [^\n]+$`)

// FuzzAssembleFile feeds arbitrary source to AssembleFile, as `tpugen asm`
// does: it returns words or a one-line error naming the file and the line,
// never panics. (FuzzAssemble checks that what assembles round-trips.)
// Seeds: every instruction with its fields, odd numbers and spacing, and
// testdata/fuzz/FuzzAssembleFile.
func FuzzAssembleFile(f *testing.F) {
	f.Add(sample)
	for _, s := range []string{
		"halt",
		"matmul ub=0x100 m=4 k=400 waddr=0 n=8 acc=0\n",
		"convolve k=5x5 pad=1,2,3,4 s=2x1 d=1x2\nhalt",
		"convolve k=5x pad=1,2,3 s=x1\n",
		"read_host ub=-1 len=0x\n",
		"read_host ub=0x7fffffffffffffff len=99999999999999999999\n",
		"READ_HOST\tub=1\tub=2\n",
		"sync extra\n",
		"activate acc=0 m=1 n=1 set=0 out=0 pitch=0 fh=0 fw=0 =\n",
		"write_host ub=0 len=1 # comment = x\n\n\n",
		"load_params set=9 len=-3\n",
		"convolve k=0x0 s=0x0 d=0x0 pad=-1,-1,-1,-1\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		words, err := AssembleFile("prog.s", src)
		if err != nil {
			if !asmErrRE.MatchString(err.Error()) {
				t.Fatalf("error %q: want one line \"prog.s:<line>: ...\"", err)
			}
			return
		}
		if n := len(words); n > strings.Count(src, "\n")+1 {
			t.Fatalf("%d words from %d lines", n, strings.Count(src, "\n")+1)
		}
	})
}
