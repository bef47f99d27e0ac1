package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// In cluster mode every modem's owned series exists at 0 from the start,
// named with this instance; SetOwned moves it, TookOver and Forwarded
// count, each for its own modem.
func TestClusterInstruments(t *testing.T) {
	m := New()
	m.SetInstance("api1")
	a := m.Modem("a", reachable)
	b := m.Modem("b", reachable)
	want := `
# HELP simmodem_api_modem_owned 1 while this instance drives the modem (holds its lease), 0 while another one or none does, by modem and instance (this instance's name); cluster mode only.
# TYPE simmodem_api_modem_owned gauge
simmodem_api_modem_owned{instance="api1",modem="a"} 0
simmodem_api_modem_owned{instance="api1",modem="b"} 0
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "simmodem_api_modem_owned"); err != nil {
		t.Fatal(err)
	}
	// Neither driven here: no modem_* gauge of either (the owner
	// exports them; a standby's unpolled modem_up 0 would fire alerts).
	if n := testutil.CollectAndCount(m.Registry, "modem_up"); n != 0 {
		t.Fatalf("%d modem_up series on a standby instance", n)
	}
	a.SetOwned(true)
	a.TookOver()
	a.SetOwned(false)
	a.SetOwned(true)
	a.TookOver()
	up := "\n# HELP modem_up 1 if the modem answered the last status poll, 0 if it is unreachable (then no other modem_* value of it is exported).\n# TYPE modem_up gauge\nmodem_up{modem=\"a\"} 1\n"
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(up), "modem_up"); err != nil {
		t.Fatalf("the driven modem's gauges: %v", err)
	}
	b.Forwarded(ForwardAnswered)
	b.Forwarded(ForwardUnreachable)
	b.Forwarded(ForwardAnswered)
	want = `
# HELP simmodem_api_modem_owned 1 while this instance drives the modem (holds its lease), 0 while another one or none does, by modem and instance (this instance's name); cluster mode only.
# TYPE simmodem_api_modem_owned gauge
simmodem_api_modem_owned{instance="api1",modem="a"} 1
simmodem_api_modem_owned{instance="api1",modem="b"} 0
# HELP simmodem_api_lease_takeovers_total Times this instance took the modem's lease and began to drive it (at its start, after another instance released it or let it lapse), by modem.
# TYPE simmodem_api_lease_takeovers_total counter
simmodem_api_lease_takeovers_total{modem="a"} 2
simmodem_api_lease_takeovers_total{modem="b"} 0
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "simmodem_api_modem_owned", "simmodem_api_lease_takeovers_total"); err != nil {
		t.Fatal(err)
	}
	for result, n := range map[string]float64{ForwardAnswered: 2, ForwardUnreachable: 1, ForwardNoOwner: 0, ForwardLoop: 0} {
		if v := testutil.ToFloat64(b.ForwardedRequests.WithLabelValues(result)); v != n {
			t.Errorf("b forwarded %s = %v, want %v", result, v, n)
		}
		if v := testutil.ToFloat64(a.ForwardedRequests.WithLabelValues(result)); v != 0 {
			t.Errorf("a forwarded %s = %v, want 0", result, v)
		}
	}
}

// A single instance (no SetInstance) holds no leases: no owned series.
func TestSingleInstanceExportsNoOwned(t *testing.T) {
	m := New()
	m.Modem("modem", reachable)
	if n := testutil.CollectAndCount(m.Registry, "simmodem_api_modem_owned"); n != 0 {
		t.Fatalf("%d owned series without cluster mode", n)
	}
}
