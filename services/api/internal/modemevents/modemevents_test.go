package modemevents

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"go.uber.org/goleak"

	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/poller"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func snap(reachable bool, sim, reg string) *poller.Snapshot {
	return &poller.Snapshot{Reachable: reachable, Identity: modemops.Identity{IMEI: "866948013728723", IMSI: "232011234567890"},
		Status: modemops.Status{SIM: sim, Registration: reg}}
}

func TestModemEvents(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := New(st, "at", nil)
	r.Snapshot(nil, snap(false, "unknown", "unknown")) // not reachable yet: nothing
	r.Connected()
	r.Snapshot(nil, snap(true, "ready", "home"))  // the first fresh snapshot: connected
	r.Snapshot(nil, snap(true, "ready", "home"))  // no change
	r.Snapshot(nil, snap(false, "ready", "home")) // unreachable: no change known
	r.Snapshot(nil, snap(true, "ready", "searching"))
	r.Snapshot(nil, snap(true, "absent", "searching"))
	r.Disconnected("heartbeat_timeout")
	r.Disconnected("dial_failed") // not connected: nothing
	r.Connected()
	r.Disconnected("connection_closed") // lost before a poll: both

	ev, err := st.Events(context.Background(), 0, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range ev {
		types = append(types, e.Type)
	}
	want := []string{store.EventModemConnected, store.EventModemRegistration, store.EventModemSIM, store.EventModemDisconnect,
		store.EventModemConnected, store.EventModemDisconnect}
	if !slices.Equal(types, want) {
		t.Fatalf("events %v\nwant %v", types, want)
	}
	var reg, gone Data
	if err := json.Unmarshal(ev[1].Data, &reg); err != nil || reg.Previous != "home" || reg.Current != "searching" ||
		reg.Modem.IMEI != "866948013728723" || reg.Modem.ID != "at" || reg.Status == nil || reg.Status.Registration != "searching" {
		t.Fatalf("registration %s %v", ev[1].Data, err)
	}
	if err := json.Unmarshal(ev[3].Data, &gone); err != nil || gone.Reason != "heartbeat_timeout" || gone.Modem.IMSI != "232011234567890" {
		t.Fatalf("disconnected %s %v", ev[3].Data, err)
	}
}
