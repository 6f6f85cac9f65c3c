package blocks_test

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/blocks"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/internal/rtltest"
	"github.com/tpugen/tpugen/verify/sim"
)

// wdecCase is one decoder under test: its size and a stream of tiles, some
// of them malformed on purpose.
type wdecCase struct {
	cfg blocks.WeightDecoderConfig
	// tiles are the byte strings sent, one per tile; want are the dense
	// rows the decoder must produce for them (Rows per tile, whatever the
	// bytes).
	tiles [][]byte
	want  [][]int64
	bad   bool // some tile is malformed: out_err must end at 1
}

// randRow is a dense row with roughly the given share of zeros.
func randRow(r *rand.Rand, lanes int, zeros float64) []int64 {
	row := make([]int64, lanes)
	for j := range row {
		if r.Float64() >= zeros {
			for row[j] == 0 {
				row[j] = int64(r.IntN(256) - 128)
			}
		}
	}
	return row
}

// goodTile encodes rows random rows (dense, empty and in between).
func goodTile(r *rand.Rand, cfg blocks.WeightDecoderConfig) ([]byte, [][]int64) {
	var tile []byte
	var rows [][]int64
	for i := 0; i < cfg.Rows; i++ {
		row := randRow(r, cfg.Lanes, []float64{0, 1, 0.5, 0.8, 0.95}[r.IntN(5)])
		tile = compile.BitmaskRecord(tile, row)
		rows = append(rows, row)
	}
	return tile, rows
}

// newWdecCase builds n well-formed tiles and, when malformed is set, one of
// each kind of malformed tile among them, each followed by a good tile
// that must decode exactly (the decoder resynchronises on tile ends).
func newWdecCase(cfg blocks.WeightDecoderConfig, n int, seed uint64, malformed bool) wdecCase {
	r := rand.New(rand.NewPCG(seed, 7))
	c := wdecCase{cfg: cfg}
	add := func(tile []byte, rows [][]int64) {
		c.tiles = append(c.tiles, tile)
		c.want = append(c.want, rows...)
	}
	zero := func(k int) [][]int64 {
		out := make([][]int64, k)
		for i := range out {
			out[i] = make([]int64, cfg.Lanes)
		}
		return out
	}
	for i := 0; i < n; i++ {
		add(goodTile(r, cfg))
		if !malformed || i >= 4 {
			continue
		}
		c.bad = true
		good, rows := goodTile(r, cfg)
		mb := cfg.MaskBytes()
		switch i {
		case 0: // a run past the end: the tile's final byte is cut off,
			// so the last record (a value, or an empty row's mask) is short
			add(good[:len(good)-1], append(append([][]int64(nil), rows[:len(rows)-1]...), zero(1)...))
		case 1: // too few records: a whole row missing
			short := []byte(nil)
			for _, row := range rows[:len(rows)-1] {
				short = compile.BitmaskRecord(short, row)
			}
			add(short, append(append([][]int64(nil), rows[:len(rows)-1]...), zero(1)...))
		case 2: // too many records: the extra one is dropped
			extra := compile.BitmaskRecord(append([]byte(nil), good...), randRow(r, cfg.Lanes, 0.5))
			add(extra, rows)
		case 3: // a stored zero: the row decodes with the zero, flagged
			row := make([]int64, cfg.Lanes)
			tile := make([]byte, mb+1)
			tile[0] = 1 // lane 0 set, value 0
			for k := 1; k < cfg.Rows; k++ {
				tile = compile.BitmaskRecord(tile, row)
			}
			add(tile, zero(cfg.Rows))
		}
	}
	return c
}

// wdecRun simulates the decoder (dir holds its Verilog) on c with random
// stalls on both sides and reports the problems: rows lost, extra or
// wrong, and the error flag's final value against c.bad.
func wdecRun(t *testing.T, s sim.Simulator, e *rtltest.Emitted, files []string, dec *blocks.WeightDecoder, c wdecCase, seed uint64) []string {
	t.Helper()
	l := &arch.Layout{Name: "in", Width: dec.Width, Fields: dec.Fields}
	beats, err := compile.PackBitmaskBeats(l, c.tiles, c.cfg.BeatBytes())
	must(t, err)
	top := e.VerifyTop()
	top.Files = files
	top.Sources = append(top.Sources, rtltest.StreamNamed("in"))
	top.Sinks = append(top.Sinks, rtltest.StreamNamed("out"))
	stim := &sim.Stimulus{Sources: [][]*big.Int{beats}, Expect: []int{len(c.want)}, Trace: true, Linger: 40,
		SourceStall: []func(int) bool{stallPattern(seed, 0.3, 20*len(beats))},
		SinkStall:   []func(int) bool{stallPattern(seed+1, 0.3, 20*len(beats))},
		MaxCycles:   100*len(beats) + 1000}
	res, err := rtltest.Run(t, s, top, stim)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	rows := res.Sinks[0]
	if len(rows) != len(c.want) {
		problems = append(problems, fmt.Sprintf("%d rows out, want %d", len(rows), len(c.want)))
	}
	dl := &arch.Layout{Name: "out", Width: 8 * c.cfg.Lanes, Fields: []arch.Field{{Name: "w", Width: 8, Lanes: c.cfg.Lanes, Signed: true}}}
	for i := 0; i < min(len(rows), len(c.want)); i++ {
		got, err := dl.Unpack(rows[i].Data, "w")
		must(t, err)
		if fmt.Sprint(got) != fmt.Sprint(c.want[i]) {
			problems = append(problems, fmt.Sprintf("row %d (tile %d, cycle %d) is %v, want %v", i, i/c.cfg.Rows, rows[i].Cycle, got, c.want[i]))
			break
		}
	}
	final := res.Outputs[len(res.Outputs)-1]["out_err"]
	if (final.Sign() != 0) != c.bad {
		problems = append(problems, fmt.Sprintf("out_err ends at %v, the stream is malformed: %v", final, c.bad))
	}
	return problems
}

var wdecConfigs = []blocks.WeightDecoderConfig{
	{Lanes: 8, Rows: 8, WeightBits: 8},
	{Lanes: 3, Rows: 2, WeightBits: 8},
	{Lanes: 12, Rows: 4, WeightBits: 8},
}

func newWdec(t *testing.T, cfg blocks.WeightDecoderConfig) (*blocks.WeightDecoder, *rtltest.Emitted) {
	dec, err := blocks.NewWeightDecoder(cfg)
	must(t, err)
	return dec, rtltest.Build(t, dec.Module)
}

// TestWeightDecoder streams random tiles (dense rows, empty rows and
// sparse ones, records across beats) through decoders of 8 and 12 lanes
// in both simulators with random stalls on both sides: every dense row must
// come out exactly, and out_err stay 0. Then the same with malformed tiles
// among good ones (a record cut off by the tile's end, a missing record, an
// extra record, a stored zero): every tile still yields exactly Rows rows
// (zero rows for what is missing), the good tiles after a bad one decode
// exactly, nothing hangs, and out_err ends at 1.
func TestWeightDecoder(t *testing.T) {
	t.Parallel()
	// 8 lanes (one mask byte) and 12 (two, with mask bits beyond the
	// lanes); the 3-lane decoder is only linted (TestWeightDecoderTools).
	for i, cfg := range []blocks.WeightDecoderConfig{wdecConfigs[0], wdecConfigs[2]} {
		t.Run(fmt.Sprintf("l%d_r%d", cfg.Lanes, cfg.Rows), func(t *testing.T) {
			t.Parallel()
			dec, e := newWdec(t, cfg)
			for _, s := range rtltest.Simulators(t) {
				for _, malformed := range []bool{false, true} {
					c := newWdecCase(cfg, 40, uint64(10*i+1), malformed)
					if p := wdecRun(t, s, e, e.Paths, dec, c, uint64(100*i+7)); len(p) > 0 {
						t.Errorf("%s, malformed %v: %v", s.Name(), malformed, p)
					}
				}
			}
		})
	}
}

// wdecMutation moves lane 0's value one byte on in the emitted Verilog: an
// off-by-one in the packed index (lane 0 reads the byte after the mask
// plus one).
var wdecMutation = regexp.MustCompile(`\{\(5'h1 \+ 5'h0\), 3'h0\}`)

// TestWeightDecoderMutantIsCaught runs TestWeightDecoder's check on a
// decoder whose packed index is off by one in the Verilog text: it must
// report a wrong row in both simulators.
func TestWeightDecoderMutantIsCaught(t *testing.T) {
	t.Parallel()
	cfg := wdecConfigs[0]
	dec, e := newWdec(t, cfg)
	dir := t.TempDir()
	var files []string
	hits := 0
	for _, p := range e.Paths {
		text, err := os.ReadFile(p)
		must(t, err)
		hits += len(wdecMutation.FindAll(text, -1))
		text = wdecMutation.ReplaceAll(text, []byte("{(5'h2 + 5'h0), 3'h0}"))
		mp := filepath.Join(dir, filepath.Base(p))
		must(t, os.WriteFile(mp, text, 0o644))
		files = append(files, mp)
	}
	if hits != 1 {
		t.Fatalf("the mutation matches %d places, want 1: has the emitted form changed?", hits)
	}
	for _, s := range rtltest.Simulators(t) {
		p := wdecRun(t, s, e, files, dec, newWdecCase(cfg, 10, 3, false), 5)
		if len(p) == 0 {
			t.Fatalf("%s: the check passed a decoder with an off-by-one packed index", s.Name())
		}
		t.Logf("%s: caught: %s", s.Name(), p[0])
	}
}

// TestWeightDecoderTools lints, compiles and synthesizes (no latches) the
// decoder.
func TestWeightDecoderTools(t *testing.T) {
	t.Parallel()
	for _, cfg := range wdecConfigs[:2] {
		_, e := newWdec(t, cfg)
		rtltest.CheckTools(t, e)
	}
	for _, bad := range []blocks.WeightDecoderConfig{{Lanes: 0, Rows: 8, WeightBits: 8}, {Lanes: 8, Rows: 8, WeightBits: 4}, {Lanes: 8, Rows: 0, WeightBits: 8}} {
		if bad.Validate() == nil {
			t.Errorf("%+v: Validate accepts it", bad)
		}
	}
}
