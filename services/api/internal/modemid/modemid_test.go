package modemid

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
	"github.com/sim-modem-api/sim-modem-api/simulator/device"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// connect serves a simulated device over a pipe and returns an engine on
// it, initialised.
func connect(t *testing.T, cfg device.Config, ops *modemops.Ops) (*device.Device, *at.Engine) {
	t.Helper()
	d, err := device.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { _ = d.Serve(ctx, b); close(served) }()
	e := at.New(ctx, a)
	t.Cleanup(func() {
		cancel()
		e.Close()
		b.Close()
		<-served
	})
	if err := ops.Init(ctx, e); err != nil {
		t.Fatal(err)
	}
	return d, e
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.OpenDir(context.Background(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// identityReads counts the identity commands in the device's transcript.
func identityReads(d *device.Device) int {
	n := 0
	for _, x := range d.Transcript() {
		if strings.Contains(strings.ToUpper(x.Command), "+CIMI") {
			n++
		}
	}
	return n
}

func TestCurrentRecordsAndCaches(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	ops := modemops.New(modemops.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	d, e := connect(t, device.Config{}, ops)
	tr := New(st, ops, "modem")
	if _, ok := tr.Cached(); ok {
		t.Fatal("cached before the first read")
	}
	id, err := tr.Current(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	modems, err := st.Modems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := d.Config()
	if len(modems) != 1 || modems[0].ID != id || modems[0].IMSI != cfg.IMSI || modems[0].IMEI != cfg.IMEI || modems[0].ICCID != cfg.ICCID {
		t.Fatalf("modems %+v, id %d, device %s/%s/%s", modems, id, cfg.IMSI, cfg.ICCID, cfg.IMEI)
	}
	// Cached: no second read of the identity.
	for range 3 {
		if again, err := tr.Current(ctx, e); err != nil || again != id {
			t.Fatalf("again: %d %v", again, err)
		}
	}
	if n := identityReads(d); n != 1 {
		t.Fatalf("identity read %d times, want once", n)
	}
	if c, ok := tr.Cached(); !ok || c != id {
		t.Fatalf("cached %d %v", c, ok)
	}
	// A new session reads it again; the same modem keeps its id.
	tr.Invalidate()
	if _, ok := tr.Cached(); ok {
		t.Fatal("cached after Invalidate")
	}
	if again, err := tr.Current(ctx, e); err != nil || again != id {
		t.Fatalf("after invalidate: %d %v", again, err)
	}
	if n := identityReads(d); n != 2 {
		t.Fatalf("identity read %d times, want twice", n)
	}
}

func TestAnotherSIMIsAnotherModem(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	ops := modemops.New(modemops.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	_, e1 := connect(t, device.Config{}, ops)
	tr := New(st, ops, "modem")
	id1, err := tr.Current(ctx, e1)
	if err != nil {
		t.Fatal(err)
	}
	// The stick is replugged with another SIM: the next session is another modem.
	_, e2 := connect(t, device.Config{IMSI: "232039999999999", ICCID: "89430310009999999999"}, ops)
	tr.Invalidate()
	id2, err := tr.Current(ctx, e2)
	if err != nil {
		t.Fatal(err)
	}
	if id2 == id1 {
		t.Fatalf("another SIM got the same id %d", id1)
	}
	// And the first SIM back is the first modem again.
	tr.Invalidate()
	if id, err := tr.Current(ctx, e1); err != nil || id != id1 {
		t.Fatalf("first SIM again: %d %v, want %d", id, err, id1)
	}
}

func TestLockedSIMIsUnidentified(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	ops := modemops.New(modemops.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	d, e := connect(t, device.Config{}, ops)
	if err := d.SetSIM(device.SIMState("pin")); err != nil {
		t.Fatal(err)
	}
	tr := New(st, ops, "modem")
	if _, err := tr.Current(ctx, e); !errors.Is(err, ErrUnidentified) {
		t.Fatalf("SIM wants its PIN: err %v, want ErrUnidentified", err)
	}
	if modems, _ := st.Modems(ctx); len(modems) != 0 {
		t.Fatalf("recorded %+v without an IMSI", modems)
	}
	if _, err := ops.EnterPIN(ctx, e, d.Config().PIN, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Current(ctx, e); err != nil {
		t.Fatalf("after the PIN: %v", err)
	}
}

func TestLostConnection(t *testing.T) {
	st := openStore(t)
	ops := modemops.New(modemops.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	_, e := connect(t, device.Config{}, ops)
	e.Close()
	tr := New(st, ops, "modem")
	_, err := tr.Current(context.Background(), e)
	if err == nil || errors.Is(err, ErrUnidentified) || !errors.Is(err, at.ErrClosed) {
		t.Fatalf("closed engine: %v, want at.ErrClosed", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	ops := modemops.New(modemops.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	_, e := connect(t, device.Config{}, ops)
	tr := New(st, ops, "modem")
	want, err := tr.Current(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				tr.Invalidate()
			}
			if id, err := tr.Current(ctx, e); err != nil || id != want {
				errs <- errors.Join(err, errors.New("wrong id"))
			}
		}()
		go func() { defer wg.Done(); tr.Cached() }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
