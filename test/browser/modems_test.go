//go:build linux

package browser

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// simModem is one simulated stick behind its own relay.
type simModem struct {
	id, ctl         string
	imsi, imei, ops string // ops: the simulator's --operator NAME:MCCMNC
}

// modemSIMs are the sticks' identities and networks (as test/e2e's fleet).
var modemSIMs = []struct{ imsi, iccid, imei, oper string }{
	{"232011234567891", "8943011234567890121", "861234567890131", "A1:23201"},
	{"262011234567892", "8949011234567890122", "861234567890132", "Telekom.de:26201"},
}

// newModemsStack starts one simulator and relay per id and one api
// driving them all (API_MODEMS, the first id the default modem), and
// waits until every modem is eligible to send. The stack's ctl is the
// default modem's simulator.
func newModemsStack(t *testing.T, ids ...string) (*stack, []*simModem) {
	t.Helper()
	dir := t.TempDir()
	tr := &http.Transport{}
	s := &stack{t: t, dir: dir, api: freeAddr(t), transport: tr, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
	t.Cleanup(tr.CloseIdleConnections)
	var modems []*simModem
	var entries []string
	for i, id := range ids {
		sim := modemSIMs[i]
		m := &simModem{id: id, ctl: freeAddr(t), imsi: sim.imsi, imei: sim.imei, ops: sim.oper}
		link := filepath.Join(dir, "ttyUSB-"+id)
		relayAddr, relayM := freeAddr(t), freeAddr(t)
		startAs(t, dir, "simulator", "simulator-"+id, nil, "--link", link, "--control", m.ctl, "--log-level", "warn",
			"--imsi", sim.imsi, "--iccid", sim.iccid, "--imei", sim.imei, "--operator", sim.oper, "--seed", fmt.Sprint(i+1))
		s.waitHTTP("http://" + m.ctl + "/healthz")
		startAs(t, dir, "relay", "relay-"+id, []string{"RELAY_DEVICE=" + link, "RELAY_LISTEN=" + relayAddr, "RELAY_METRICS_LISTEN=" + relayM})
		s.waitHTTP("http://" + relayM + "/healthz")
		modems = append(modems, m)
		entries = append(entries, id+"="+relayAddr)
	}
	s.ctl = modems[0].ctl
	s.apiEnv = []string{
		"API_LISTEN=" + s.api, "API_METRICS_LISTEN=off", "API_MODEMS=" + strings.Join(entries, ","), "API_DATA_DIR=" + filepath.Join(dir, "data"),
		"API_SMS_PACING=0", "API_POLL_INTERVAL=300ms", "API_RECONNECT_MIN=20ms", "API_RECONNECT_MAX=300ms",
		"API_DEFAULT_COUNTRY=43", "API_KEYS=" + userKey, "API_ADMIN_KEYS=" + adminKey,
	}
	s.apiProc = start(t, dir, "api", s.apiEnv)
	s.waitHTTP("http://" + s.api + "/readyz")
	deadline := time.Now().Add(30 * time.Second)
	for {
		var list struct {
			Modems []struct {
				Eligible bool `json:"eligible"`
			} `json:"modems"`
		}
		eligible := 0
		if s.call("GET", "http://"+s.api+"/v1/modems", adminKey, "", &list) == 200 {
			for _, m := range list.Modems {
				if m.Eligible {
					eligible++
				}
			}
		}
		if eligible == len(ids) {
			return s, modems
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d modems eligible after 30 s", eligible, len(ids))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// simAt calls the control API of modem m's simulator.
func (s *stack) simAt(m *simModem, method, path, body string, out any) {
	s.t.Helper()
	if code := s.call(method, "http://"+m.ctl+path, "", body, out); code/100 != 2 {
		s.t.Fatalf("simulator %s: %s %s: %d", m.id, method, path, code)
	}
}

// transcriptOf is modem m's simulator's transcript as JSON text.
func (s *stack) transcriptOf(m *simModem) string {
	s.t.Helper()
	var out []json.RawMessage
	s.simAt(m, "GET", "/transcript", "", &out)
	b, _ := json.Marshal(out)
	return string(b)
}

// TestConsoleModems: two modems behind one api. The status page picks
// the second one and shows its network; USSD, AT and PIN act on it; the
// send form pins a message to it; the lists name the modem; a modem event
// of the selected modem updates the picker and its status.
func TestConsoleModems(t *testing.T) {
	b := newBrowser(t)
	s, modems := newModemsStack(t, "at", "de")
	at, de := modems[0], modems[1]
	var list struct {
		Modems []struct {
			ID     string `json:"id"`
			Status struct {
				Status struct {
					Operator string `json:"operator"`
				} `json:"status"`
			} `json:"status"`
		} `json:"modems"`
	}
	s.call("GET", "http://"+s.api+"/v1/modems", userKey, "", &list)
	if len(list.Modems) != 2 || list.Modems[0].Status.Status.Operator == list.Modems[1].Status.Status.Operator {
		t.Fatalf("GET /v1/modems: %+v; want two modems on different networks", list.Modems)
	}
	atOp, deOp := list.Modems[0].Status.Status.Operator, list.Modems[1].Status.Status.Operator

	ctx := b.tab()
	do(t, ctx, "open the console", chromedp.Navigate("http://"+s.api+"/"))
	signIn(t, ctx, adminKey)
	waitFor(t, ctx, "the live event stream", `document.getElementById("live").textContent === "live"`)
	waitFor(t, ctx, "the picker with both modems eligible, the default selected and shown", `!document.getElementById("modem-picker").hidden
		&& [...document.querySelectorAll("#modem-list .modem-opt")].map(l => l.dataset.id + ":" + l.dataset.eligible).join(" ") === "at:true de:true"
		&& document.querySelector('#modem-list input[value="at"]').checked
		&& document.getElementById("st-network").textContent.includes(`+js(atOp)+`)
		&& document.getElementById("st-identity").textContent.includes(`+js(at.imei)+`)`)
	if !eval[bool](t, ctx, `document.querySelector('#modem-list .modem-opt[data-id="de"]').textContent.includes(`+js(deOp)+`)`) {
		t.Error("the picker does not show de's operator")
	}

	// Pick the second modem with the keyboard (arrow keys move a radio
	// group's choice): its status, not the default's.
	do(t, ctx, "pick de", chromedp.Focus(chromedp.CSS(`#modem-list input[value="at"]`)), chromedp.KeyEvent(kb.ArrowRight))
	waitFor(t, ctx, "de's status", `document.getElementById("status-of").textContent === ": de"
		&& document.getElementById("st-network").textContent.includes(`+js(deOp)+`)
		&& document.getElementById("st-identity").textContent.includes(`+js(de.imei)+`)
		&& document.getElementById("sig-dbm").textContent.endsWith("dBm")`)
	b.shot(ctx, "modems-status")

	// USSD on de: it goes to de's simulator, not to at's.
	s.simAt(at, "DELETE", "/transcript", "", nil)
	s.simAt(de, "DELETE", "/transcript", "", nil)
	do(t, ctx, "check de's balance", chromedp.Click(chromedp.CSS(`nav [data-page="ussd"]`)))
	if got := eval[string](t, ctx, `(p => p.hidden ? "hidden" : p.textContent)(document.querySelector("#page-ussd .target"))`); !strings.Contains(got, "On modem de") {
		t.Errorf("the USSD page says %q; want it to name modem de", got)
	}
	do(t, ctx, "send the code", chromedp.Click(chromedp.CSS(`#ussd button[type="submit"]`)))
	waitFor(t, ctx, "the USSD answer", `document.getElementById("ussd-result").textContent.includes("Your balance is EUR 12.34")`)
	if tr := s.transcriptOf(de); !strings.Contains(tr, "*100#") {
		t.Errorf("de's simulator got no *100#: %s", tr)
	}
	if tr := s.transcriptOf(at); strings.Contains(tr, "CUSD") {
		t.Errorf("at's simulator got a USSD: %s", tr)
	}

	// The AT console on de: its IMEI.
	do(t, ctx, "run AT+CGSN on de",
		chromedp.Click(chromedp.CSS(`nav [data-page="at"]`)),
		chromedp.SetValue(chromedp.ID("at-command"), "AT+CGSN"),
		chromedp.Click(chromedp.CSS(`#at button[type="submit"]`)))
	waitFor(t, ctx, "de's IMEI", `document.getElementById("at-result").textContent.includes(`+js(de.imei)+`)`)

	// A message pinned to de from the send form: de's simulator sends it,
	// the list says modem de.
	s.simAt(at, "DELETE", "/sent", "", nil)
	s.simAt(de, "DELETE", "/sent", "", nil)
	const text = "Pinned to de from the console"
	do(t, ctx, "fill in the send form",
		chromedp.Click(chromedp.CSS(`nav [data-page="send"]`)),
		chromedp.WaitVisible(chromedp.ID("send-modem")),
		chromedp.SendKeys(chromedp.ID("send-to"), "+436601234567"),
		chromedp.SendKeys(chromedp.ID("send-text"), text))
	if got := eval[string](t, ctx, `[...document.getElementById("send-modem").options].map(o => o.value + "=" + o.textContent).join(" ")`); got != "=any (routing) at=at de=de" {
		t.Errorf("the send form's modems: %q", got)
	}
	eval[any](t, ctx, `(s => { s.value = "de"; s.dispatchEvent(new Event("change")); })(document.getElementById("send-modem"))`)
	do(t, ctx, "send", chromedp.Click(chromedp.ID("send-button")))
	waitFor(t, ctx, "the message sent by de", `[...document.querySelectorAll('#outbox li[data-modem="de"]')].some(li =>
		li.querySelector(".text").textContent === `+js(text)+` && /^(sent|delivered)$/.test(li.dataset.state)
		&& li.querySelector(".chip.modem").textContent === "modem de")`)
	var sentAt, sentDe []struct {
		Text string `json:"text"`
	}
	s.simAt(at, "GET", "/sent", "", &sentAt)
	s.simAt(de, "GET", "/sent", "", &sentDe)
	if len(sentDe) != 1 || sentDe[0].Text != text || len(sentAt) != 0 {
		t.Errorf("de's simulator sent %+v, at's %+v; want the message once, by de", sentDe, sentAt)
	}
	b.shot(ctx, "modems-sent")

	// An SMS to de: the inbox names the modem that received it.
	s.simAt(de, "POST", "/sms", `{"from":"+436601112223","text":"Hello to de"}`, nil)
	do(t, ctx, "open the inbox", chromedp.Click(chromedp.CSS(`nav [data-page="inbox"]`)))
	waitFor(t, ctx, "the SMS", `document.querySelector('#conversations button[data-from="+436601112223"]') !== null`)
	do(t, ctx, "open it", chromedp.Click(chromedp.CSS(`#conversations button[data-from="+436601112223"]`)))
	waitFor(t, ctx, "its modem", `[...document.querySelectorAll("#thread .sms .chip.modem")].some(c => c.textContent === "modem de")`)

	// de's SIM asks for its PIN: the modem.sim event naming de updates the
	// picker and de's status; the PIN page unlocks de.
	do(t, ctx, "back to the status", chromedp.Click(chromedp.CSS(`nav [data-page="status"]`)))
	s.simAt(de, "PUT", "/sim", `{"state":"pin"}`, nil)
	waitFor(t, ctx, "de locked", `document.querySelector('#modem-list .modem-opt[data-id="de"]').dataset.eligible === "false"
		&& document.querySelector('#modem-list .modem-opt[data-id="at"]').dataset.eligible === "true"
		&& document.getElementById("st-sim").textContent.includes("pin")`)
	b.shot(ctx, "modems-pin")
	do(t, ctx, "enter de's PIN",
		chromedp.Click(chromedp.CSS(`nav [data-page="pin"]`)),
		chromedp.SendKeys(chromedp.ID("pin-pin"), "1234"),
		chromedp.Click(chromedp.CSS(`#pin button[type="submit"]`)))
	waitFor(t, ctx, "the SIM ready", `document.getElementById("pin-result").textContent === "SIM: ready"`)
	do(t, ctx, "back to the status", chromedp.Click(chromedp.CSS(`nav [data-page="status"]`)))
	waitFor(t, ctx, "de eligible again", `document.querySelector('#modem-list .modem-opt[data-id="de"]').dataset.eligible === "true"
		&& document.getElementById("st-sim").textContent.includes("ready")`)

	// Back to the default modem: its live status again.
	do(t, ctx, "pick at", chromedp.Click(chromedp.CSS(`#modem-list .modem-opt[data-id="at"]`)))
	waitFor(t, ctx, "at's status", `document.getElementById("status-of").textContent === ": at"
		&& document.getElementById("st-network").textContent.includes(`+js(atOp)+`)`)
	s.simAt(at, "PUT", "/network", `{"rssi":7}`, nil)
	waitFor(t, ctx, "at's live signal", `document.getElementById("sig-dbm").textContent === "-99 dBm"`)
	b.checkFaults()
}
