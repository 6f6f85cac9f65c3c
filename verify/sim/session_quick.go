package sim

import (
	"context"
	"sync"
)

// OpenQuick is Open with the one-shot harness's C++ optimization instead of
// the session's: for a design that lives for a few dozen short runs (a
// mutant in a mutation sweep), where the build costs more than the runs.
// Its builds are cached under their own key.
func (s Verilator) OpenQuick(ctx context.Context, top *Top, opt Options) (*Session, error) {
	return s.open(ctx, top, opt, harnessBuild{
		tag:   "tpugen sim verilator quick session v1",
		what:  "verilator quick session",
		flags: verilatorFlags(top.Name, false),
	})
}

// QuickSession is a Simulator that runs every stimulus of one design in a
// single session opened with OpenQuick: one build and one process for all
// of a mutant's cases. A run of a different design (other files or ports)
// closes the session and opens one for it. Runs that need what a session
// does not do (a waveform, a trace) go to Verilator.Run.
type QuickSession struct {
	Verilator Verilator

	mu  sync.Mutex
	key string
	s   *Session
}

// Name returns "verilator": the results are Verilator's.
func (q *QuickSession) Name() string { return "verilator" }

// Run simulates stim on top in the design's session.
func (q *QuickSession) Run(ctx context.Context, top *Top, stim *Stimulus, opt Options) (*Result, error) {
	if opt.VCD != "" || (stim != nil && stim.Trace) || opt.KeepFiles {
		return q.Verilator.Run(ctx, top, stim, opt)
	}
	key, err := designKey(top)
	if err != nil {
		return q.Verilator.Run(ctx, top, stim, opt)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.s != nil && (q.key != key || q.s.failed()) {
		q.s.Close()
		q.s = nil
	}
	if q.s == nil {
		s, err := q.Verilator.OpenQuick(ctx, top, opt)
		if err != nil {
			return nil, err
		}
		q.s, q.key = s, key
	}
	return q.s.Run(ctx, stim)
}

// Close ends the session.
func (q *QuickSession) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.s == nil {
		return nil
	}
	err := q.s.Close()
	q.s = nil
	return err
}
