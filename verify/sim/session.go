package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/bits"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"sync"
	"time"
)

// verilatorSessionFlags are the flags of a session binary. It lives for
// thousands of runs, so it is worth optimizing harder than the one-shot
// harness: -O2 simulated a 16x16 matrix unit about 8% faster than -O1 and
// took up to twice as long to build (8x8 builds stay under 10 s on two
// cores); -O3 was no faster. The x handling is the same as Run's, so both
// give identical results.
func verilatorSessionFlags(top string) []string {
	return []string{
		"--cc", "--exe", "--build",
		"--prefix", "Vtop", "--top-module", top,
		"-Wall", "-Wno-fatal",
		"--x-assign", "fast", "--x-initial", "fast",
		"-MAKEFLAGS", "OPT_FAST=-O2 OPT_SLOW=-O1 OPT_GLOBAL=-O2",
		"-o", "sim",
	}
}

// Session is a running Verilator harness for one design that simulates
// stimuli sent to it through pipes: no files are written and no process is
// started per run, so short runs cost little more than their cycles. Every
// run starts from a freshly constructed and reset model, with the same cycle
// semantics and the same Result as Verilator.Run (except that traces are not
// recorded).
//
// Runs of one session are serialized; open several sessions to run in
// parallel. A session must be closed. If its harness crashes or a run's
// context ends during the run, the harness is gone and every later Run
// reports why.
type Session struct {
	l      *layout
	cached bool

	mu      sync.Mutex
	kill    context.CancelFunc // kills the harness (its process group)
	in      *os.File           // requests, the harness's stdin
	out     *os.File           // responses, the harness's stdout
	stderr  *tailBuffer
	exited  chan struct{} // closed when the harness has exited and waitErr is set
	waitErr error
	err     error // why the session cannot run any more (nil while it can)
	req     []byte
	resp    []byte
}

// errClosed is the reason a closed session gives.
var errClosed = errors.New("session closed")

// Open builds (or takes from the build cache) the session harness for top
// and starts it. ctx bounds the build and the start only; the harness runs
// until Close. Options.VCD is not supported (use Run); WorkDir and KeepFiles
// do not apply.
func (s Verilator) Open(ctx context.Context, top *Top, opt Options) (*Session, error) {
	sess, err := s.open(ctx, top, opt, harnessBuild{
		tag:   "tpugen sim verilator session v1",
		what:  "verilator session",
		flags: verilatorSessionFlags(top.Name),
	})
	if err == nil && opt.Log != nil {
		fmt.Fprintf(opt.Log, "sim: verilator session %s: started\n", top.Name)
	}
	return sess, err
}

// open builds (or takes from the cache) the session harness for top with
// hb's tag, description and flags, and starts it.
func (s Verilator) open(ctx context.Context, top *Top, opt Options, hb harnessBuild) (*Session, error) {
	const sim = "verilator"
	verilator, err := lookPath(orDefault(s.Bin, "verilator"))
	if err != nil {
		return nil, err
	}
	l, err := newLayout(top)
	if err != nil {
		return nil, err
	}
	if opt.VCD != "" {
		return nil, l.errorf(sim, "a session does not write waveforms (Options.VCD): use Verilator.Run")
	}
	p, err := prepareFiles(l, opt)
	if err != nil {
		return nil, err
	}
	hb.harness = verilatorSessionHarness(l)
	bin, cached, err := s.build(ctx, verilator, l, p.files, hb, opt)
	if err != nil {
		return nil, err
	}
	return startSession(ctx, l, bin, cached)
}

// startSession starts the harness binary and checks its greeting.
func startSession(ctx context.Context, l *layout, bin string, cached bool) (*Session, error) {
	const sim = "verilator"
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, l.errorf(sim, "session: %w", err)
	}
	respR, respW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, l.errorf(sim, "session: %w", err)
	}
	growPipe(reqW)
	growPipe(respR)
	// The process context only serves to kill the harness's process group.
	pctx, kill := context.WithCancel(context.Background())
	cmd := exec.CommandContext(pctx, bin)
	cmd.Stdin, cmd.Stdout = reqR, respW
	stderr := &tailBuffer{}
	cmd.Stderr = stderr
	setProcessGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Start()
	reqR.Close() // the harness holds its own copies
	respW.Close()
	if err != nil {
		kill()
		reqW.Close()
		respR.Close()
		return nil, l.errorf(sim, "session: %w", err)
	}
	s := &Session{l: l, cached: cached, kill: kill, in: reqW, out: respR, stderr: stderr, exited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()

	stop := context.AfterFunc(ctx, kill)
	var hello [5 * 8]byte
	_, err = io.ReadFull(s.out, hello[:])
	if !stop() {
		s.shutdown()
		return nil, l.errorf(sim, "session start: %w", ctx.Err())
	}
	if err != nil {
		err = s.crashed(err)
		s.shutdown()
		return nil, l.errorf(sim, "session start: %w", err)
	}
	want := []uint64{sessionHello, sessionVersion, uint64(len(l.top.Ports)), uint64(len(l.sources)), uint64(len(l.sinks))}
	for i, w := range want {
		if got := binary.LittleEndian.Uint64(hello[8*i:]); got != w {
			s.shutdown()
			return nil, l.errorf(sim, "session start: harness greeting word %d is %#x, want %#x (stale build?)", i, got, w)
		}
	}
	return s, nil
}

// Run simulates one stimulus, as Verilator.Run would. Result.SimTime is the
// harness's own time for the run (model construction, reset and the
// cycles, without transferring stimulus and results). Stimulus.Trace is not
// supported. If ctx ends during the run, the harness is killed and the
// session cannot run again.
func (s *Session) Run(ctx context.Context, stim *Stimulus) (*Result, error) {
	const sim = "verilator"
	l := s.l
	if err := l.checkStimulusOf(stim, false); err != nil {
		return nil, err
	}
	if stim.Trace {
		return nil, l.errorf(sim, "a session does not record traces (Stimulus.Trace): use Verilator.Run")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, l.errorf(sim, "%w", s.err)
	}
	if err := ctx.Err(); err != nil {
		return nil, l.errorf(sim, "simulation: %w", err)
	}
	var ok bool
	if s.req, ok = appendRequest(s.req[:0], l, stim); !ok {
		return nil, l.checkStimulus(stim) // a bad payload, explained as Run does
	}
	stop := context.AfterFunc(ctx, s.kill)
	body, err := s.exchange()
	if !stop() {
		// The context killed the harness, perhaps just after it answered.
		s.err = fmt.Errorf("session killed when a run's context ended: %w", ctx.Err())
		if err != nil {
			return nil, l.errorf(sim, "simulation: %w", ctx.Err())
		}
	}
	if err != nil {
		return nil, l.errorf(sim, "simulation: %w", s.crashed(err))
	}
	res, status, cycles, err := decodeResponse(body, l)
	if err != nil {
		err = fmt.Errorf("session protocol: %w", err)
		s.kill()
		s.err = err
		return nil, l.errorf(sim, "%w", err)
	}
	res.BuildCached = s.cached
	if status == sessionLimit {
		return nil, l.limitError(sim, strconv.FormatUint(cycles, 10), stim, res)
	}
	res.Cycles = int(cycles)
	return res, nil
}

// Close ends the harness. It waits for a run in progress; to stop one,
// cancel that run's context. Closing a session whose harness already failed
// (an error some Run reported) returns nil.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if errors.Is(s.err, errClosed) {
		return nil
	}
	failed := s.err != nil
	s.in.Close() // end of input: the harness exits between runs
	var err error
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		err = errors.New("harness did not exit when its input closed; killed")
	}
	s.shutdown()
	if err == nil && !failed && s.waitErr != nil {
		err = s.exitError()
	}
	s.err = errClosed
	if err != nil {
		return s.l.errorf("verilator", "closing session: %w", err)
	}
	return nil
}

// shutdown kills the harness (if it still runs), waits for it and releases
// the pipes.
func (s *Session) shutdown() {
	s.kill()
	<-s.exited
	s.in.Close()
	s.out.Close()
}

// exchange sends the encoded request and returns the body of the response.
func (s *Session) exchange() ([]byte, error) {
	if _, err := s.in.Write(s.req); err != nil {
		return nil, err
	}
	return s.exchangeRead()
}

func (s *Session) exchangeRead() ([]byte, error) {
	var head [16]byte
	if _, err := io.ReadFull(s.out, head[:]); err != nil {
		return nil, err
	}
	if m := binary.LittleEndian.Uint64(head[:]); m != sessionResponse {
		return nil, protocolError{fmt.Sprintf("response header %#x, want %#x", m, sessionResponse)}
	}
	n := binary.LittleEndian.Uint64(head[8:])
	if n > 1<<36 {
		return nil, protocolError{fmt.Sprintf("response of %d words", n)}
	}
	if uint64(cap(s.resp)) < 8*n {
		s.resp = make([]byte, 8*n)
	}
	s.resp = s.resp[:8*n]
	if _, err := io.ReadFull(s.out, s.resp); err != nil {
		return nil, err
	}
	return s.resp, nil
}

// protocolError is a response the session cannot read.
type protocolError struct{ msg string }

func (e protocolError) Error() string { return "session protocol: " + e.msg }

// crashed explains a failed exchange with the harness and marks the session
// unusable: normally the harness has exited, and its exit status and the
// end of its error output say why.
func (s *Session) crashed(ioErr error) error {
	var pe protocolError
	if errors.As(ioErr, &pe) {
		s.kill()
	}
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.kill()
		<-s.exited
		s.err = fmt.Errorf("harness stopped answering (%v); killed", ioErr)
		return s.err
	}
	if pe.msg != "" {
		s.err = pe
	} else {
		s.err = s.exitError()
	}
	return s.err
}

// exitError describes how the harness exited, with its last output lines.
func (s *Session) exitError() error {
	msg := "harness exited"
	if s.waitErr != nil {
		msg += " (" + s.waitErr.Error() + ")"
	}
	if out := s.stderr.bytes(); len(out) > 0 {
		msg += "\n" + tail(out, tailLines)
	}
	return errors.New(msg)
}

// tailBuffer keeps the last bytes written to it (the harness's stderr).
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

const tailBytes = 64 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > tailBytes {
		t.b = append(t.b[:0], t.b[len(t.b)-tailBytes:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]byte(nil), t.b...)
}

// appendRequest encodes a stimulus as one request (see the package comment
// for the layout). The stimulus is checked but for its source payloads; it
// reports false if one of them does not fit its port.
func appendRequest(b []byte, l *layout, stim *Stimulus) ([]byte, bool) {
	put := binary.LittleEndian.AppendUint64
	b = put(b, sessionRequest)
	b = put(b, 0) // the body length, filled in below
	start := len(b)

	horizon := stallHorizon(l, stim)
	stalls := func(fns []func(int) bool, k int) ([]uint64, int) {
		if k < len(fns) && fns[k] != nil {
			return stallBitmap(fns[k], horizon)
		}
		return nil, 0
	}
	srcStall := make([][]uint64, len(l.sources))
	sinkStall := make([][]uint64, len(l.sinks))

	b = put(b, uint64(stim.Cycles))
	b = put(b, uint64(maxCycles(stim)))
	b = put(b, uint64(stim.Linger))
	b = put(b, uint64(len(stim.Changes)))
	for k := range l.sources {
		n := 0
		if k < len(stim.Sources) {
			n = len(stim.Sources[k])
		}
		var nbits int
		srcStall[k], nbits = stalls(stim.SourceStall, k)
		b = put(b, uint64(n))
		b = put(b, uint64(nbits))
	}
	for k := range l.sinks {
		expect := 0
		if k < len(stim.Expect) {
			expect = stim.Expect[k]
		}
		var nbits int
		sinkStall[k], nbits = stalls(stim.SinkStall, k)
		b = put(b, uint64(expect))
		b = put(b, uint64(nbits))
	}
	// Changes sorted by cycle; stable, so that changes of one cycle apply in
	// the order given.
	changes := append([]Change(nil), stim.Changes...)
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].Cycle < changes[j].Cycle })
	for _, c := range changes {
		i := l.index[c.Port]
		b = put(b, uint64(c.Cycle))
		b = put(b, uint64(i))
		b = appendLimbs(b, c.Value, limbsFor(l.port(i).Width))
	}
	for k, s := range l.sources {
		if k < len(stim.Sources) {
			width := l.port(s.data).Width
			n := limbsFor(width)
			for _, v := range stim.Sources[k] {
				if v == nil || v.Sign() < 0 || v.BitLen() > width {
					return b, false
				}
				b = appendLimbs(b, v, n)
			}
		}
	}
	for _, bm := range append(srcStall, sinkStall...) {
		for _, w := range bm {
			b = put(b, w)
		}
	}
	binary.LittleEndian.PutUint64(b[start-8:], uint64((len(b)-start)/8))
	return b, true
}

// stallBitmap evaluates a stall function below horizon (the rule of the
// stall files) and returns the bits up to the last stalled cycle, cycle c
// at bit c%64 of word c/64, and their number.
func stallBitmap(stall func(int) bool, horizon int) ([]uint64, int) {
	bm := make([]uint64, (horizon+63)/64)
	n := 0
	for c := 0; c < horizon; c++ {
		if stall(c) {
			bm[c/64] |= 1 << (c % 64)
			n = c + 1
		}
	}
	return bm[:(n+63)/64], n
}

// wordsPerLimb is the number of big.Words in a 64-bit limb.
const wordsPerLimb = 64 / bits.UintSize

// appendLimbs appends the non-negative v as n little-endian 64-bit limbs
// (v fits them).
func appendLimbs(b []byte, v *big.Int, n int) []byte {
	words := v.Bits()
	for i := 0; i < n; i++ {
		var limb uint64
		for j := 0; j < wordsPerLimb; j++ {
			if w := i*wordsPerLimb + j; w < len(words) {
				limb |= uint64(words[w]) << (j * bits.UintSize)
			}
		}
		b = binary.LittleEndian.AppendUint64(b, limb)
	}
	return b
}

// wordReader reads the 64-bit words of a response body.
type wordReader struct {
	b   []byte
	err error
}

func (r *wordReader) next() uint64 {
	if len(r.b) < 8 {
		if r.err == nil {
			r.err = errors.New("response too short")
		}
		return 0
	}
	w := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return w
}

// fits reports whether n records of size words each remain.
func (r *wordReader) fits(n uint64, size int) bool {
	return n <= uint64(len(r.b)/8/size)
}

// decodeResponse reads a response body: the run's status word and cycle
// count, and the Result with sources' accept cycles and sinks' beats (the
// payloads of a sink share one allocation of words).
func decodeResponse(body []byte, l *layout) (*Result, uint64, uint64, error) {
	r := &wordReader{b: body}
	status, cycles, nanos := r.next(), r.next(), r.next()
	if r.err == nil && status != sessionDone && status != sessionLimit {
		return nil, 0, 0, fmt.Errorf("unknown run status %d", status)
	}
	res := &Result{Sim: "verilator", SimTime: time.Duration(nanos),
		Sinks: make([][]Beat, len(l.sinks)), Sources: make([][]int, len(l.sources))}
	for k := range l.sources {
		n := r.next()
		if !r.fits(n, 1) {
			return nil, 0, 0, fmt.Errorf("source %d: %d accept cycles do not fit the response", k, n)
		}
		if n == 0 {
			continue
		}
		acc := make([]int, n)
		for i := range acc {
			acc[i] = int(r.next())
		}
		res.Sources[k] = acc
	}
	for k, s := range l.sinks {
		n := r.next()
		limbs := limbsFor(l.port(s.data).Width)
		if !r.fits(n, 1+limbs) {
			return nil, 0, 0, fmt.Errorf("sink %d: %d beats do not fit the response", k, n)
		}
		if n == 0 {
			continue
		}
		beats := make([]Beat, n)
		ints := make([]big.Int, n)
		per := limbs * wordsPerLimb
		words := make([]big.Word, int(n)*per)
		for i := range beats {
			beats[i].Cycle = int(r.next())
			ws := words[i*per : (i+1)*per : (i+1)*per]
			for j := 0; j < limbs; j++ {
				limb := r.next()
				for h := 0; h < wordsPerLimb; h++ {
					ws[j*wordsPerLimb+h] = big.Word(limb >> (h * bits.UintSize))
				}
			}
			beats[i].Data = ints[i].SetBits(ws)
		}
		res.Sinks[k] = beats
	}
	if r.err != nil {
		return nil, 0, 0, r.err
	}
	if len(r.b) != 0 {
		return nil, 0, 0, fmt.Errorf("%d extra bytes in the response", len(r.b))
	}
	return res, status, cycles, nil
}
