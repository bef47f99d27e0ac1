//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/simulator/control"
)

// simModem is one simulated stick with its relay, behind a fleet's api.
type simModem struct {
	id               string
	ctl, relayAddr   string
	relayM           string
	sim, relay       *proc
	imsi, imei, oper string
}

// fleetOpts configures newFleet.
type fleetOpts struct {
	ids    []string
	routes string   // the "routes" JSON array of the modems file, "" for none
	apiEnv []string // extra API_* settings
}

// fleet is one api driving several simulated modems, each behind its own
// relay, configured through a modems file.
type fleet struct {
	*stack
	modems []*simModem
}

// fleetSIMs are the identities and networks of the simulated sticks.
var fleetSIMs = []struct{ imsi, iccid, imei, oper string }{
	{"232011234567891", "8943011234567890121", "861234567890131", "A1:23201"},
	{"262011234567892", "8949011234567890122", "861234567890132", "Telekom.de:26201"},
	{"232031234567893", "8943031234567890123", "861234567890133", "Magenta:23203"},
	{"228011234567894", "8941011234567890124", "861234567890134", "Swisscom:22801"},
}

// fleetSIM is the i-th stick: one of fleetSIMs, or a made-up one.
func fleetSIM(i int) struct{ imsi, iccid, imei, oper string } {
	if i < len(fleetSIMs) {
		return fleetSIMs[i]
	}
	s := fleetSIMs[i%len(fleetSIMs)]
	s.imsi = fmt.Sprintf("2320199%08d", i)
	s.iccid = fmt.Sprintf("894301999%010d", i)
	s.imei = fmt.Sprintf("8612345%08d", i)
	return s
}

func newFleet(t testing.TB, o fleetOpts) *fleet {
	t.Helper()
	dir := t.TempDir()
	s := &stack{t: t, dir: dir, api: freeAddr(t), apiM: freeAddr(t), key: adminKey}
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	s.client = &http.Client{Transport: tr, Timeout: 60 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	f := &fleet{stack: s, modems: startSimModems(s, o.ids)}
	modemsFile := writeModemsFile(s, f.modems, o.routes)
	s.ctl, s.relayAddr, s.relayM, s.sim, s.relay = f.modems[0].ctl, f.modems[0].relayAddr, f.modems[0].relayM, f.modems[0].sim, f.modems[0].relay
	s.apiEnv = append([]string{
		"API_LISTEN=" + s.api, "API_METRICS_LISTEN=" + s.apiM, "API_MODEMS_FILE=" + modemsFile, "API_DATA_DIR=" + filepath.Join(dir, "data"),
		"API_SMS_PACING=0", "API_POLL_INTERVAL=200ms", "API_RECONNECT_MIN=20ms", "API_RECONNECT_MAX=300ms",
		"API_QUEUE_SIZE=512", "API_DEFAULT_COUNTRY=43", "API_LOG_LEVEL=info", "API_KEYS=" + userKey, "API_ADMIN_KEYS=" + adminKey,
	}, append(apiDatabaseEnv(t), o.apiEnv...)...)
	s.apiProc = start(t, dir, "api", s.apiEnv)
	s.waitHTTP("http://" + s.api + "/healthz")
	f.waitAllEligible()
	checkAPIDatabase(t, s.apiEnv)
	return f
}

// startSimModems starts a simulator and its relay for each id, in the
// stack's directory.
func startSimModems(s *stack, ids []string) []*simModem {
	s.t.Helper()
	var modems []*simModem
	for i, id := range ids {
		sim := fleetSIM(i)
		m := &simModem{id: id, ctl: freeAddr(s.t), relayAddr: freeAddr(s.t), relayM: freeAddr(s.t), imsi: sim.imsi, imei: sim.imei, oper: sim.oper}
		link := filepath.Join(s.dir, "ttyUSB-"+id)
		m.sim = startAs(s.t, s.dir, "simulator", "simulator-"+id, nil, "--link", link, "--control", m.ctl, "--log-level", "warn",
			"--imsi", sim.imsi, "--iccid", sim.iccid, "--imei", sim.imei, "--operator", sim.oper, "--seed", fmt.Sprint(i+1))
		s.waitHTTP("http://" + m.ctl + "/healthz")
		m.relay = startAs(s.t, s.dir, "relay", "relay-"+id, []string{"RELAY_DEVICE=" + link, "RELAY_LISTEN=" + m.relayAddr, "RELAY_METRICS_LISTEN=" + m.relayM})
		s.waitHTTP("http://" + m.relayM + "/healthz")
		modems = append(modems, m)
	}
	return modems
}

// writeModemsFile writes the api's modems file (API_MODEMS_FILE) for the
// modems, with the "routes" JSON array unless it is "", and returns its
// path.
func writeModemsFile(s *stack, modems []*simModem, routes string) string {
	s.t.Helper()
	var entries []string
	for _, m := range modems {
		entries = append(entries, fmt.Sprintf(`{"id": %q, "relay": %q}`, m.id, m.relayAddr))
	}
	file := fmt.Sprintf(`{"modems": [%s]`, strings.Join(entries, ", "))
	if routes != "" {
		file += `, "routes": ` + routes
	}
	file += "}\n"
	path := filepath.Join(s.dir, "modems.json")
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		s.t.Fatal(err)
	}
	return path
}

// modemView is an entry of GET /v1/modems.
type modemView struct {
	ID       string `json:"id"`
	Default  bool   `json:"default"`
	Relay    string `json:"relay"`
	Ready    bool   `json:"ready"`
	NotReady []string
	Eligible bool   `json:"eligible"`
	Why      string `json:"notEligible"`
	Owner    *struct {
		Instance string `json:"instance"`
		URL      string `json:"url"`
		Local    bool   `json:"local"`
	} `json:"owner"` // the instance driving it, in a cluster`
	Outbox struct {
		Depth int `json:"depth"`
	} `json:"outbox"`
	Status struct {
		Reachable bool `json:"reachable"`
		Identity  struct {
			IMSI string `json:"imsi"`
			IMEI string `json:"imei"`
		} `json:"identity"`
		Status struct {
			Operator     string `json:"operator"`
			Registration string `json:"registration"`
		} `json:"status"`
	} `json:"status"`
}

func (f *fleet) modemList() []modemView {
	f.t.Helper()
	var out struct {
		Modems []modemView `json:"modems"`
	}
	if code := f.call("GET", "/v1/modems", userKey, "", &out); code != 200 {
		f.t.Fatalf("GET /v1/modems: %d", code)
	}
	return out.Modems
}

// waitAllEligible waits until every modem is connected, polled and
// registered.
func (f *fleet) waitAllEligible() {
	f.t.Helper()
	f.waitFor("every modem eligible", 30*time.Second, func() bool {
		ms := f.modemList()
		if len(ms) != len(f.modems) {
			return false
		}
		for _, m := range ms {
			if !m.Eligible || !m.Status.Reachable {
				return false
			}
		}
		return true
	})
}

// ctlAt calls the control API of the i-th simulator.
func (f *fleet) ctlAt(i int, method, path, body string, out any) {
	f.t.Helper()
	code, b := f.raw(method, "http://"+f.modems[i].ctl+path, "", body)
	if code/100 != 2 {
		f.t.Fatalf("control %s %s %s: %d %s", f.modems[i].id, method, path, code, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			f.t.Fatal(err)
		}
	}
}

// sentBy maps every text the simulators sent to the ids of the modems
// that sent it (once each, if all is well).
func (f *fleet) sentBy() map[string][]string {
	f.t.Helper()
	out := map[string][]string{}
	for i, m := range f.modems {
		var sent []control.SentSMS
		f.ctlAt(i, "GET", "/sent", "", &sent)
		for _, s := range sent {
			out[s.Text] = append(out[s.Text], m.id)
		}
	}
	return out
}

// fleetMsg is a message of /v1/messages or /v1/inbox with its modem.
type fleetMsg struct {
	ID    string   `json:"id"`
	Text  string   `json:"text"`
	State string   `json:"state"`
	Modem string   `json:"modem"`
	Route []string `json:"route"`
	Code  string   `json:"code"`
}

// sendBatch accepts n messages text-<prefix>-<i> to `to`, pinned to modem
// unless it is "", and returns their ids.
func (f *fleet) sendBatch(prefix, to, modem string, n int) []string {
	f.t.Helper()
	var ids []string
	for i := range n {
		body := fmt.Sprintf(`{"to": %q, "text": "%s-%d"`, to, prefix, i)
		if modem != "" {
			body += fmt.Sprintf(`, "modem": %q`, modem)
		}
		var m fleetMsg
		if code := f.callH("POST", "/v1/messages", body+"}", &m); code != 202 {
			f.t.Fatalf("accept %s-%d: %d %+v", prefix, i, code, m)
		}
		ids = append(ids, m.ID)
	}
	return ids
}

// waitSent waits until every message is sent and returns them.
func (f *fleet) waitSent(ids []string, limit time.Duration) map[string]fleetMsg {
	f.t.Helper()
	out := map[string]fleetMsg{}
	f.waitFor(fmt.Sprintf("%d messages sent", len(ids)), limit, func() bool {
		for _, id := range ids {
			if m, ok := out[id]; ok && m.State == "sent" {
				continue
			}
			var m fleetMsg
			f.call("GET", "/v1/messages/"+id, userKey, "", &m)
			if m.State != "sent" {
				return false
			}
			out[id] = m
		}
		return true
	})
	return out
}

// Three modems share the queue: every message is sent exactly once, each
// modem sends a share, and each message names the modem that sent it.
func TestFleetSharesTheQueue(t *testing.T) {
	f := newFleet(t, fleetOpts{ids: []string{"a", "b", "c"}, apiEnv: []string{"API_SMS_PACING=150ms"}})
	ids := f.sendBatch("share", "+436601234567", "", 30)
	msgs := f.waitSent(ids, 60*time.Second)
	by := f.sentBy()
	count := map[string]int{}
	for _, id := range ids {
		m := msgs[id]
		if got := by[m.Text]; len(got) != 1 || got[0] != m.Modem {
			t.Fatalf("%s (%s) was sent by %v, the api says %q", id, m.Text, got, m.Modem)
		}
		count[m.Modem]++
	}
	t.Logf("messages per modem: %v", count)
	for _, id := range []string{"a", "b", "c"} {
		if count[id] < 5 {
			t.Errorf("modem %s sent %d of 30: the modems do not share the queue (%v)", id, count[id], count)
		}
	}
}

// Prefix rules and pinning choose the modem; an unknown modem is refused.
func TestFleetRoutesByPrefixAndPin(t *testing.T) {
	f := newFleet(t, fleetOpts{ids: []string{"at", "de"},
		routes: `[{"prefix": "+43", "modems": ["at"]}, {"prefix": "+49", "modems": ["de"]}]`})
	at := f.sendBatch("to-at", "+436601234567", "", 4)
	de := f.sendBatch("to-de", "+491701234567", "", 4)
	pinned := f.sendBatch("pinned", "+436601234567", "de", 2)
	free := f.sendBatch("free", "+41791234567", "", 4)
	msgs := f.waitSent(append(append(append(at, de...), pinned...), free...), 60*time.Second)
	by := f.sentBy()
	for ids, want := range map[*[]string]string{&at: "at", &de: "de", &pinned: "de"} {
		for _, id := range *ids {
			m := msgs[id]
			if m.Modem != want || len(by[m.Text]) != 1 || by[m.Text][0] != want {
				t.Errorf("%s (%s): modem %q, sent by %v; want %s", id, m.Text, m.Modem, by[m.Text], want)
			}
		}
	}
	for _, id := range free {
		if m := msgs[id]; len(by[m.Text]) != 1 || by[m.Text][0] != m.Modem {
			t.Errorf("%s: sent by %v, the api says %q", id, by[m.Text], m.Modem)
		}
	}
	var e struct {
		Code   string `json:"code"`
		Fields []struct{ Field, Message string }
	}
	if code := f.callH("POST", "/v1/messages", `{"to": "+436601234567", "text": "x", "modem": "fr"}`, &e); code != 422 ||
		len(e.Fields) != 1 || e.Fields[0].Field != "modem" || !strings.Contains(e.Fields[0].Message, "at, de") {
		t.Fatalf("unknown modem: %d %+v", code, e)
	}
}

// A modem unplugged in the middle of a batch: the messages it had not
// begun to send go out on the other one, and every message is sent
// exactly once, also those it was sending when it went (sent when it is
// back, or found sent).
func TestFleetFailoverMidBatch(t *testing.T) {
	f := newFleet(t, fleetOpts{ids: []string{"one", "two"}, apiEnv: []string{"API_SMS_PACING=200ms"}})
	ids := f.sendBatch("batch", "+436601234567", "", 24)
	f.waitFor("a few messages sent by one", 30*time.Second, func() bool {
		n := 0
		for _, who := range f.sentBy() {
			if who[0] == "one" {
				n++
			}
		}
		return n >= 3
	})
	f.ctlAt(0, "POST", "/unplug", "", nil)
	unplugged := time.Now()
	// Everything that one had not submitted goes out on two.
	f.waitFor("the batch sent apart from what one may hold", 60*time.Second, func() bool {
		return len(f.sentBy()) >= len(ids)-1
	})
	t.Logf("batch through on the second modem %v after the unplug", time.Since(unplugged).Round(time.Millisecond))
	f.ctlAt(0, "POST", "/replug", "", nil)
	msgs := f.waitSent(ids, 60*time.Second)
	by := f.sentBy()
	var texts []string
	for _, id := range ids {
		m := msgs[id]
		if len(by[m.Text]) != 1 || by[m.Text][0] != m.Modem {
			t.Errorf("%s (%s): sent by %v, the api says %q", id, m.Text, by[m.Text], m.Modem)
		}
		texts = append(texts, m.Text)
	}
	if len(by) != len(ids) {
		sort.Strings(texts)
		t.Errorf("the simulators sent %d texts for %d messages", len(by), len(ids))
	}
	var moved int
	for _, id := range ids {
		var full struct {
			History []struct{ State, Detail string }
		}
		f.call("GET", "/v1/messages/"+id, userKey, "", &full)
		for _, h := range full.History {
			if strings.HasPrefix(h.Detail, "returned to the queue") {
				moved++
				break
			}
		}
	}
	t.Logf("messages returned to the queue by the failover: %d", moved)
}

// Received messages on both modems land once each, with the right modem;
// /v1/modems, the per-modem status and the metrics name each modem.
func TestFleetInboundStatusAndMetrics(t *testing.T) {
	f := newFleet(t, fleetOpts{ids: []string{"at", "de"}, apiEnv: inboxEnv})
	f.ctlAt(0, "POST", "/sms", `{"from": "+436641111111", "text": "to the Austrian SIM"}`, nil)
	f.ctlAt(1, "POST", "/sms", `{"from": "+491702222222", "text": "an die deutsche SIM"}`, nil)
	var in []fleetMsg
	f.waitFor("two received messages", 30*time.Second, func() bool {
		in = allPages[fleetMsg](f.stack, "/v1/inbox?limit=200")
		return len(in) == 2
	})
	for _, m := range in {
		want := map[string]string{"to the Austrian SIM": "at", "an die deutsche SIM": "de"}[m.Text]
		if m.Modem != want {
			t.Errorf("received %q on modem %q, want %q", m.Text, m.Modem, want)
		}
	}
	ms := f.modemList()
	if len(ms) != 2 || ms[0].ID != "at" || !ms[0].Default || ms[1].ID != "de" || ms[1].Default {
		t.Fatalf("modems %+v", ms)
	}
	for i, m := range ms {
		if m.Status.Identity.IMSI != f.modems[i].imsi || m.Status.Identity.IMEI != f.modems[i].imei || !m.Ready ||
			m.Relay != f.modems[i].relayAddr || m.Status.Status.Registration != "home" {
			t.Errorf("modem %s: %+v", m.ID, m)
		}
	}
	if ms[0].Status.Status.Operator == ms[1].Status.Status.Operator {
		t.Errorf("both modems on operator %q", ms[0].Status.Status.Operator)
	}
	var st modemView
	if code := f.call("GET", "/v1/modems/de/status", userKey, "", &st.Status); code != 200 || st.Status.Identity.IMSI != f.modems[1].imsi {
		t.Fatalf("GET /v1/modems/de/status: %d %+v", code, st)
	}
	if code := f.call("GET", "/v1/modems/fr/status", userKey, "", nil); code != 404 {
		t.Fatalf("unknown modem: %d", code)
	}
	var ussd struct {
		Text string `json:"text"`
	}
	if code := f.call("POST", "/v1/modems/de/ussd", userKey, `{"code": "*100#"}`, &ussd); code != 200 || ussd.Text == "" {
		t.Fatalf("USSD on de: %d %+v", code, ussd)
	}
	if tr := f.transcriptAt(1); !strings.Contains(tr, "*100#") {
		t.Fatalf("the USSD did not go to de's simulator")
	}
	metrics := f.metrics()
	for _, want := range []string{`simmodem_api_relay_connected{modem="at"} 1`, `simmodem_api_relay_connected{modem="de"} 1`,
		`simmodem_api_inbox_messages_total{modem="at",state="received"} 1`, `simmodem_api_inbox_messages_total{modem="de",state="received"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func (f *fleet) transcriptAt(i int) string {
	f.t.Helper()
	var out []control.Exchange
	f.ctlAt(i, "GET", "/transcript", "", &out)
	b, _ := json.Marshal(out)
	return string(b)
}
