package inbox

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
	"github.com/sim-modem-api/sim-modem-api/simulator/device"
)

// rig is the simulated MF831 behind a real AT engine, initialised by the
// api's init sequence, and a real store in a temporary directory.
type rig struct {
	d     *device.Device
	e     *at.Engine
	ops   *modemops.Ops
	st    *store.Store
	modem int64
	sw    *Sweeper
	// toSweeper routes +CMTI and +CDSI to the sweeper (Run tests).
	toSweeper atomic.Bool
}

func newRig(t *testing.T, dc device.Config, so store.Options, cfg Config) *rig {
	t.Helper()
	d, err := device.New(dc)
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { d.Serve(ctx, b); close(served) }()
	r := &rig{d: d, ops: modemops.New(modemops.Config{})}
	var sw atomic.Pointer[Sweeper]
	toSweeper := func(u at.URC) {
		if r.toSweeper.Load() {
			sw.Load().HandleURC(u)
		}
	}
	r.e = at.New(ctx, a, at.WithDefaultHandler(func(u at.URC) {}))
	r.e.Handle("+CMTI", toSweeper)
	r.e.Handle("+CDSI", toSweeper)
	st, err := store.OpenDir(ctx, t.TempDir(), so)
	if err != nil {
		t.Fatal(err)
	}
	r.st = st
	t.Cleanup(func() {
		cancel()
		r.e.Close()
		b.Close()
		<-served
		st.Close()
	})
	if err := r.ops.Init(ctx, r.e); err != nil {
		t.Fatal(err)
	}
	if r.modem, err = st.UpsertModem(ctx, store.ModemIdentity{IMSI: "232011234567890", ICCID: "8943012345678901234", IMEI: "866948013728723"}); err != nil {
		t.Fatal(err)
	}
	cfg.Store = st
	cfg.ModemID = func(context.Context, modemops.AT) (int64, error) { return r.modem, nil }
	r.sw = New(cfg)
	sw.Store(r.sw)
	return r
}

// sweep runs one sweep and fails the test on error.
func (r *rig) sweep(t *testing.T) Result {
	t.Helper()
	res, err := r.sw.Sweep(context.Background(), r.e)
	if err != nil {
		t.Fatalf("sweep: %v (result %+v)", err, res)
	}
	return res
}

// inbox lists every inbound message, oldest first.
func (r *rig) inbox(t *testing.T) []*store.Message {
	t.Helper()
	var out []*store.Message
	f := store.Filter{Direction: store.In, Oldest: true, Limit: store.MaxLimit}
	for {
		p, err := r.st.List(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Messages...)
		if p.Next == "" {
			return out
		}
		f.Cursor = p.Next
	}
}

func (r *rig) inject(t *testing.T, in device.IncomingSMS) device.Injected {
	t.Helper()
	res, err := r.d.InjectSMS(in)
	if err != nil {
		t.Fatalf("inject %+v: %v", in, err)
	}
	return res
}

func (r *rig) stored(t *testing.T, mem string) []device.StoredSMS {
	t.Helper()
	m, err := r.d.Messages(mem)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// storeSubmit stores an SMS-SUBMIT PDU line (SMSC part "00") in the modem
// as the outbox does, AT+CMGW=<length>, and returns its index.
func (r *rig) storeSubmit(ctx context.Context, pduHex string) (int, error) {
	resp, err := r.e.SMSCommand(ctx, "+CMGW="+strconv.Itoa(len(pduHex)/2-1), pduHex)
	if err != nil {
		return 0, err
	}
	v, _ := resp.Value("+CMGW")
	return strconv.Atoi(strings.TrimSpace(v))
}
