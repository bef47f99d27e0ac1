package metrics

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/poller"
)

func reachable() *poller.Snapshot { return reachableWith(-73) }

func reachableWith(dbm int) *poller.Snapshot {
	ber := 0
	return &poller.Snapshot{
		Reachable: true, UpdatedAt: time.Unix(1700000000, 0),
		Identity: modemops.Identity{Manufacturer: "ZTE CORPORATION", Model: "MF831", Firmware: "fw", IMEI: "866948015551230"},
		Status: modemops.Status{SIM: "ready", Registration: "home", RegistrationCode: 1, Operator: "Magenta", AccessTechnology: "LTE",
			Signal: modemops.Signal{CSQ: 20, RSSIdBm: &dbm, BER: &ber, Bars: 4},
			Radio:  "on", Functionality: 1, Storage: &modemops.Storage{Memory: "SM", Used: 30, Total: 30}},
	}
}

// The README's metric table lists exactly the metrics the api exports,
// each with exactly the labels it carries (modem on the per-modem ones).
func TestREADMEListsEveryMetric(t *testing.T) {
	m := New()
	m.WatchStore(openTestStore(t))
	watchedWebhook(t, m)
	m.WatchMQTT()
	mm := m.Modem("modem", reachable)
	mm.ObserveAT(at.Observation{Command: "+CSQ", Result: at.ResultOK, Duration: time.Millisecond})
	mm.Part("sent", "")
	mm.Part("failed", "cms_331")
	mm.Part("unknown", "timeout")
	mm.SMSMessages.WithLabelValues("sent").Inc()
	mm.RelayDisconnects.WithLabelValues("dial_failed").Inc()
	mm.URC("+CMTI")
	m.HTTP("/v1/sms", 200, time.Millisecond)
	mm.InboxStoreFill("SM", 3, 30)
	mm.SetOwned(true)
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fams {
		n := f.GetName()
		if strings.HasPrefix(n, "modem_") || strings.HasPrefix(n, "simmodem_api_") {
			got = append(got, n+" "+strings.Join(labelNames(f), ","))
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, row := range regexp.MustCompile("(?m)^\\| `((?:modem|simmodem_api)_[a-z_]+)` \\| [a-z]+ \\|([^|]*)\\|").FindAllStringSubmatch(string(readme), -1) {
		var labels []string
		for _, l := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(row[2], -1) {
			labels = append(labels, l[1])
		}
		sort.Strings(labels)
		documented = append(documented, row[1]+" "+strings.Join(labels, ","))
	}
	sort.Strings(got)
	sort.Strings(documented)
	if strings.Join(got, "\n") != strings.Join(documented, "\n") {
		t.Fatalf("exported:\n%s\n\nREADME:\n%s", strings.Join(got, "\n"), strings.Join(documented, "\n"))
	}
}

// labelNames is the sorted label names of a family's first series.
func labelNames(f *dto.MetricFamily) []string {
	var names []string
	for _, lp := range f.GetMetric()[0].GetLabel() {
		names = append(names, lp.GetName())
	}
	sort.Strings(names)
	return names
}

// Two modems: every per-modem series names its modem, each modem's state
// comes from its own snapshot, and one modem's events count only for it.
func TestTwoModems(t *testing.T) {
	m := New()
	snapB := &poller.Snapshot{Reachable: false}
	a := m.Modem("a", reachable)
	b := m.Modem("b", func() *poller.Snapshot { return snapB })
	if a.ID() != "a" || b.ID() != "b" {
		t.Fatalf("ids %q %q", a.ID(), b.ID())
	}
	a.Part("sent", "")
	a.Part("sent", "")
	b.Part("failed", "cms_331")
	b.ObserveAT(at.Observation{Command: "+CMSS", Result: at.ResultOK, Duration: time.Millisecond})
	a.RelayConnected.Set(1)
	b.QueueRejected.WithLabelValues("send").Inc()
	b.InboxStoreFill("SM", 3, 30)
	want := `
# HELP modem_up 1 if the modem answered the last status poll, 0 if it is unreachable (then no other modem_* value of it is exported).
# TYPE modem_up gauge
modem_up{modem="a"} 1
modem_up{modem="b"} 0
# HELP modem_signal_rssi_dbm Received signal strength in dBm (AT+CSQ); absent when unknown.
# TYPE modem_signal_rssi_dbm gauge
modem_signal_rssi_dbm{modem="a"} -73
# HELP simmodem_api_sms_parts_sent_total SMS parts the modem accepted (+CMSS: <mr>), by modem.
# TYPE simmodem_api_sms_parts_sent_total counter
simmodem_api_sms_parts_sent_total{modem="a"} 2
simmodem_api_sms_parts_sent_total{modem="b"} 0
# HELP simmodem_api_relay_connected 1 while the modem's relay session is ready (connected, in control, modem initialised), by modem.
# TYPE simmodem_api_relay_connected gauge
simmodem_api_relay_connected{modem="a"} 1
simmodem_api_relay_connected{modem="b"} 0
# HELP simmodem_api_at_commands_total AT commands sent, by modem, command name and result class (ok, error, cme_error, cms_error, no_prompt, timeout, canceled, out_of_sync, closed).
# TYPE simmodem_api_at_commands_total counter
simmodem_api_at_commands_total{command="+CMSS",modem="b",result="ok"} 1
# HELP simmodem_api_inbox_store_used Messages in each modem message store (SM, ME, SR) as the last sweep found it (AT+CPMS), before it took them, by modem and memory.
# TYPE simmodem_api_inbox_store_used gauge
simmodem_api_inbox_store_used{memory="SM",modem="b"} 3
`
	names := []string{"modem_up", "modem_signal_rssi_dbm", "simmodem_api_sms_parts_sent_total", "simmodem_api_relay_connected",
		"simmodem_api_at_commands_total", "simmodem_api_inbox_store_used"}
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	if v := testutil.ToFloat64(b.SMSPartsFailed.WithLabelValues("cms_331")); v != 1 {
		t.Fatalf("b cms_331 = %v, want 1", v)
	}
	if v := testutil.ToFloat64(a.SMSPartsFailed.WithLabelValues("cms_331")); v != 0 {
		t.Fatalf("a cms_331 = %v, want 0", v)
	}
	if v := testutil.ToFloat64(b.QueueRejected.WithLabelValues("send")); v != 1 {
		t.Fatalf("b rejected = %v, want 1", v)
	}

	// b's state follows its own snapshot, a's stays.
	snapB = reachableWith(-101)
	want = `
# HELP modem_signal_rssi_dbm Received signal strength in dBm (AT+CSQ); absent when unknown.
# TYPE modem_signal_rssi_dbm gauge
modem_signal_rssi_dbm{modem="a"} -73
modem_signal_rssi_dbm{modem="b"} -101
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "modem_signal_rssi_dbm"); err != nil {
		t.Fatal(err)
	}

	// Every series of every per-modem family carries a modem label, and
	// the process-wide ones none.
	m.HTTP("/v1/sms", 200, time.Millisecond)
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	processWide := map[string]bool{"simmodem_api_http_requests_total": true, "simmodem_api_http_request_duration_seconds": true}
	for _, f := range fams {
		name := f.GetName()
		wantModem := !processWide[name] && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_")
		for _, s := range f.GetMetric() {
			modem := ""
			for _, lp := range s.GetLabel() {
				if lp.GetName() == "modem" {
					modem = lp.GetValue()
				}
			}
			if wantModem && modem != "a" && modem != "b" {
				t.Errorf("%s series %v has no modem label", name, s.GetLabel())
			}
			if !wantModem && modem != "" {
				t.Errorf("process-wide %s has a modem label", name)
			}
		}
	}
}

func TestModemTwicePanics(t *testing.T) {
	m := New()
	m.Modem("a", reachable)
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), `"a"`) {
			t.Fatalf("recovered %v, want a panic naming the id", r)
		}
	}()
	m.Modem("a", reachable)
}

func TestUnreachableExportsNoStaleValues(t *testing.T) {
	snap := reachable()
	m := New()
	mm := m.Modem("modem", func() *poller.Snapshot { return snap })
	if n := testutil.CollectAndCount(m.Registry, "modem_signal_rssi_dbm"); n != 1 {
		t.Fatalf("rssi series %d", n)
	}
	snap = &poller.Snapshot{Reachable: false, Identity: snap.Identity, Status: snap.Status}
	for _, name := range []string{"modem_signal_rssi_dbm", "modem_info", "modem_sim_state", "modem_registered"} {
		if n := testutil.CollectAndCount(m.Registry, name); n != 0 {
			t.Errorf("%s exported while unreachable", name)
		}
	}
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader("# HELP modem_up 1 if the modem answered the last status poll, 0 if it is unreachable (then no other modem_* value of it is exported).\n# TYPE modem_up gauge\nmodem_up{modem=\"modem\"} 0\n"), "modem_up"); err != nil {
		t.Fatal(err)
	}
	// Raw commands do not create label values.
	mm.ObserveAT(at.Observation{Command: "+XYZ123", Result: at.ResultOK})
	if v := testutil.ToFloat64(mm.ATCommands.WithLabelValues("other", "ok")); v != 1 {
		t.Fatalf("other = %v", v)
	}
}

// TestFailureReasonsExistAtZero: a dashboard's rate of failed parts shows
// 0, not "no data", before the first failure, for every modem; a failure
// counts under its reason.
func TestFailureReasonsExistAtZero(t *testing.T) {
	m := New()
	if n := testutil.CollectAndCount(m.Registry, "simmodem_api_sms_parts_failed_total"); n != 0 {
		t.Fatalf("%d failure series without a modem", n)
	}
	mm := m.Modem("a", reachable)
	m.Modem("b", reachable)
	if n := testutil.CollectAndCount(m.Registry, "simmodem_api_sms_parts_failed_total"); n != 10 {
		t.Fatalf("%d failure series before any failure, want the 5 fixed reasons of each of 2 modems", n)
	}
	mm.Part("failed", "cms_331")
	mm.Part("failed", "timeout")
	if v := testutil.ToFloat64(mm.SMSPartsFailed.WithLabelValues("cms_331")); v != 1 {
		t.Fatalf("cms_331 = %v, want 1", v)
	}
	if v := testutil.ToFloat64(mm.SMSPartsFailed.WithLabelValues("timeout")); v != 1 {
		t.Fatalf("timeout = %v, want 1", v)
	}
	mm.Part("sent", "")
	if v := testutil.ToFloat64(mm.SMSPartsSent); v != 1 {
		t.Fatalf("sent = %v, want 1", v)
	}
}

// A part whose outcome is unknown counts as unknown, never as failed.
func TestUnknownPartsAreNotFailed(t *testing.T) {
	mm := New().Modem("modem", reachable)
	mm.Part("unknown", "timeout")
	if v := testutil.ToFloat64(mm.SMSPartsUnknown.WithLabelValues("timeout")); v != 1 {
		t.Fatalf("unknown timeout = %v, want 1", v)
	}
	if v := testutil.ToFloat64(mm.SMSPartsFailed.WithLabelValues("timeout")); v != 0 {
		t.Fatalf("failed timeout = %v, want 0", v)
	}
}
