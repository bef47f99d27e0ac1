package outbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/scheduler"
	"github.com/sim-modem-api/sim-modem-api/modem/smsmem"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/modemid"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
	"github.com/sim-modem-api/sim-modem-api/simulator/device"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// rig is a simulated device on a pipe, an engine on it, a real store and
// the operations; workers are made per "process life" with newWorker.
type rig struct {
	t   testing.TB
	d   *device.Device
	e   *at.Engine
	ops *modemops.Ops
	st  *store.Store
	dir string
}

func newRig(t testing.TB, cfg device.Config) *rig {
	t.Helper()
	d, err := device.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { _ = d.Serve(ctx, b); close(served) }()
	r := &rig{t: t, d: d, ops: modemops.New(modemops.Config{Logger: quiet}), dir: t.TempDir()}
	r.e = at.New(ctx, a)
	t.Cleanup(func() {
		cancel()
		r.e.Close()
		b.Close()
		<-served
	})
	if err := r.ops.Init(ctx, r.e); err != nil {
		t.Fatal(err)
	}
	r.st, err = store.OpenDir(ctx, r.dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.st.Close() })
	return r
}

// newWorker is a fresh worker, as after a process start: nothing in
// memory, its memory reconciled before the first send.
func (r *rig) newWorker(cfg Config) *Worker {
	cfg.Store, cfg.Modem, cfg.Logger = r.st, modemid.New(r.st, r.ops, "modem"), quiet
	if cfg.RetryMin == 0 {
		cfg.RetryMin = time.Millisecond
		cfg.RetryMax = 5 * time.Millisecond
	}
	return New(cfg)
}

// accept stores a message the way the HTTP layer does.
func (r *rig) accept(id, to, text string, sr bool) *store.Message {
	r.t.Helper()
	p, err := r.ops.Prepare(modemops.SMS{To: to, Text: text, StatusReport: sr})
	if err != nil {
		r.t.Fatal(err)
	}
	m, _, err := r.st.AcceptOutbound(context.Background(), store.OutboundRequest{ID: id, To: to, Text: text,
		Options: store.SendOptions{StatusReport: sr}, Parts: p.PDUs})
	if err != nil {
		r.t.Fatal(err)
	}
	return m
}

// drain runs jobs on e until nothing is due; it fails the test after
// too many jobs.
func (r *rig) drain(w *Worker, e modemops.AT) {
	r.t.Helper()
	for i := 0; i < 200; i++ {
		res := w.job(context.Background(), e)
		if res.idle && res.err == nil {
			return
		}
	}
	r.t.Fatal("the outbox did not drain in 200 jobs")
}

// storedOutbound are the STO UNSENT / STO SENT messages left in SM.
func (r *rig) storedOutbound() []device.StoredSMS {
	r.t.Helper()
	msgs, err := r.d.Messages("SM")
	if err != nil {
		r.t.Fatal(err)
	}
	var out []device.StoredSMS
	for _, m := range msgs {
		if m.Stat == smsmem.StatStoUnsent || m.Stat == smsmem.StatStoSent {
			out = append(out, m)
		}
	}
	return out
}

// sendCounts counts, for every part of the messages, how many times the
// device submitted it to the network.
func (r *rig) sendCounts(msgs []*store.Message) map[string][]int {
	counts := map[string][]int{}
	sent := r.d.Sent()
	for _, m := range msgs {
		c := make([]int, len(m.Parts))
		for i, p := range m.Parts {
			for _, s := range sent {
				for _, sp := range s.Parts {
					if samePDU(p.PDUHex, "00"+sp.PDU) {
						c[i]++
					}
				}
			}
		}
		counts[m.ID] = c
	}
	return counts
}

// crashAT is the engine of a process that dies at its n-th command (1-
// based): before it reaches the modem, or after the modem ran it but
// before its answer is read. Every later command fails too.
type crashAT struct {
	e     modemops.AT
	n     int
	after bool

	mu    sync.Mutex
	count int
	cmds  []string
}

var errCrashed = errors.New("crashed (simulated kill -9)")

func (c *crashAT) gate(cmd string) (run, crash bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.count++
	c.cmds = append(c.cmds, cmd)
	switch {
	case c.count < c.n:
		return true, false
	case c.count == c.n:
		return c.after, true
	}
	return false, true
}

func (c *crashAT) Command(ctx context.Context, cmd string, opts ...at.CommandOption) (at.Response, error) {
	run, crash := c.gate(cmd)
	if run {
		r, err := c.e.Command(ctx, cmd, opts...)
		if !crash {
			return r, err
		}
	}
	return at.Response{}, errCrashed
}

func (c *crashAT) SMSCommand(ctx context.Context, cmd, body string, opts ...at.CommandOption) (at.Response, error) {
	run, crash := c.gate(cmd)
	if run {
		r, err := c.e.SMSCommand(ctx, cmd, body, opts...)
		if !crash {
			return r, err
		}
	}
	return at.Response{}, errCrashed
}

func (c *crashAT) Recover(ctx context.Context) error { return c.e.Recover(ctx) }

func (c *crashAT) crashed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count >= c.n
}

// newScheduler runs a scheduler on the rig's engine until the test ends.
func (r *rig) newScheduler() *scheduler.Scheduler[modemops.AT] {
	s := scheduler.New[modemops.AT](8, func() (modemops.AT, error) { return r.e, nil }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	r.t.Cleanup(func() { cancel(); <-done })
	return s
}

func itoa(n int) string { return fmt.Sprint(n) }

func tpduLen(t *testing.T, partHex string) int {
	n, err := tpduLength(partHex)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
