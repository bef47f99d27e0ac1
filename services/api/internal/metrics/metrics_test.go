package metrics

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/poller"
)

func reachable() *poller.Snapshot {
	dbm, ber := -73, 0
	return &poller.Snapshot{
		Reachable: true, UpdatedAt: time.Unix(1700000000, 0),
		Identity: modemops.Identity{Manufacturer: "ZTE CORPORATION", Model: "MF831", Firmware: "fw", IMEI: "866948015551230"},
		Status: modemops.Status{SIM: "ready", Registration: "home", RegistrationCode: 1, Operator: "Magenta", AccessTechnology: "LTE",
			Signal: modemops.Signal{CSQ: 20, RSSIdBm: &dbm, BER: &ber, Bars: 4},
			Radio:  "on", Functionality: 1, Storage: &modemops.Storage{Memory: "SM", Used: 30, Total: 30}},
	}
}

// The README's metric table lists exactly the metrics the api exports.
func TestREADMEListsEveryMetric(t *testing.T) {
	m := New(reachable)
	m.WatchStore(openTestStore(t))
	watchedWebhook(t, m)
	m.ObserveAT(at.Observation{Command: "+CSQ", Result: at.ResultOK, Duration: time.Millisecond})
	m.Part("sent", "")
	m.Part("failed", "cms_331")
	m.Part("unknown", "timeout")
	m.SMSMessages.WithLabelValues("sent").Inc()
	m.RelayDisconnects.WithLabelValues("dial_failed").Inc()
	m.URC("+CMTI")
	m.HTTP("/v1/sms", 200, time.Millisecond)
	m.InboxStoreFill("SM", 3, 30)
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fams {
		n := f.GetName()
		if strings.HasPrefix(n, "modem_") || strings.HasPrefix(n, "simmodem_api_") {
			got = append(got, n)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, mm := range regexp.MustCompile("(?m)^\\| `((?:modem|simmodem_api)_[a-z_]+)` \\|").FindAllStringSubmatch(string(readme), -1) {
		documented = append(documented, mm[1])
	}
	sort.Strings(got)
	sort.Strings(documented)
	if strings.Join(got, "\n") != strings.Join(documented, "\n") {
		t.Fatalf("exported:\n%s\n\nREADME:\n%s", strings.Join(got, "\n"), strings.Join(documented, "\n"))
	}
}

func TestUnreachableExportsNoStaleValues(t *testing.T) {
	snap := reachable()
	m := New(func() *poller.Snapshot { return snap })
	if n := testutil.CollectAndCount(m.Registry, "modem_signal_rssi_dbm"); n != 1 {
		t.Fatalf("rssi series %d", n)
	}
	snap = &poller.Snapshot{Reachable: false, Identity: snap.Identity, Status: snap.Status}
	for _, name := range []string{"modem_signal_rssi_dbm", "modem_info", "modem_sim_state", "modem_registered"} {
		if n := testutil.CollectAndCount(m.Registry, name); n != 0 {
			t.Errorf("%s exported while unreachable", name)
		}
	}
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader("# HELP modem_up 1 if the modem answered the last status poll, 0 if it is unreachable (then no other modem_* value is exported).\n# TYPE modem_up gauge\nmodem_up 0\n"), "modem_up"); err != nil {
		t.Fatal(err)
	}
	// Raw commands do not create label values.
	m.ObserveAT(at.Observation{Command: "+XYZ123", Result: at.ResultOK})
	if v := testutil.ToFloat64(m.ATCommands.WithLabelValues("other", "ok")); v != 1 {
		t.Fatalf("other = %v", v)
	}
}

// TestFailureReasonsExistAtZero: a dashboard's rate of failed parts shows
// 0, not "no data", before the first failure; a failure counts under its
// reason.
func TestFailureReasonsExistAtZero(t *testing.T) {
	m := New(reachable)
	if n := testutil.CollectAndCount(m.SMSPartsFailed); n != 5 {
		t.Fatalf("%d failure series before any failure, want the 5 fixed reasons", n)
	}
	m.Part("failed", "cms_331")
	m.Part("failed", "timeout")
	if v := testutil.ToFloat64(m.SMSPartsFailed.WithLabelValues("cms_331")); v != 1 {
		t.Fatalf("cms_331 = %v, want 1", v)
	}
	if v := testutil.ToFloat64(m.SMSPartsFailed.WithLabelValues("timeout")); v != 1 {
		t.Fatalf("timeout = %v, want 1", v)
	}
	m.Part("sent", "")
	if v := testutil.ToFloat64(m.SMSPartsSent); v != 1 {
		t.Fatalf("sent = %v, want 1", v)
	}
}

// A part whose outcome is unknown counts as unknown, never as failed.
func TestUnknownPartsAreNotFailed(t *testing.T) {
	m := New(reachable)
	m.Part("unknown", "timeout")
	if v := testutil.ToFloat64(m.SMSPartsUnknown.WithLabelValues("timeout")); v != 1 {
		t.Fatalf("unknown timeout = %v, want 1", v)
	}
	if v := testutil.ToFloat64(m.SMSPartsFailed.WithLabelValues("timeout")); v != 0 {
		t.Fatalf("failed timeout = %v, want 0", v)
	}
}
