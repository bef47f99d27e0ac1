package httpapi

import (
	"context"
	"strings"
	"testing"

	"github.com/sim-modem-api/sim-modem-api/simulator/device"
)

// notReady polls once and returns /readyz's reasons (nil when ready).
func (r *rig) notReady(t *testing.T) []string {
	t.Helper()
	r.pl.Poll(context.Background())
	code, body := r.do(t, "GET", "/readyz", "", "")
	_, sbody := r.do(t, "GET", "/v1/modem/status", userKey, "")
	if (code == 200) != (sbody["ready"] == true) {
		t.Fatalf("readyz %d but status ready %v", code, sbody["ready"])
	}
	if code == 200 {
		return nil
	}
	var why []string
	for _, w := range body["reasons"].([]any) {
		why = append(why, w.(string))
	}
	if len(why) == 0 || body["reason"] != why[0] {
		t.Fatalf("readyz %d %v", code, body)
	}
	return why
}

// /readyz and the status say why a send would not be attempted: radio off
// (through raw AT), SIM PIN; a send while the SIM wants its PIN is 409
// sim_not_ready.
func TestReadiness(t *testing.T) {
	r := newRig(t, false)
	if why := r.notReady(t); why != nil {
		t.Fatalf("not ready: %q", why)
	}
	if code, body := r.do(t, "POST", "/v1/at", adminKey, `{"command":"AT+CFUN=0"}`); code != 200 {
		t.Fatalf("AT+CFUN=0: %d %v", code, body)
	}
	if why := r.notReady(t); len(why) != 1 || !strings.Contains(why[0], "radio is off") {
		t.Fatalf("radio off: %q", why)
	}
	if code, body := r.do(t, "POST", "/v1/at", adminKey, `{"command":"AT+CFUN=1"}`); code != 200 {
		t.Fatalf("AT+CFUN=1: %d %v", code, body)
	}
	if why := r.notReady(t); why != nil {
		t.Fatalf("radio on: %q", why)
	}
	if err := r.d.SetSIM(device.SIMState("pin")); err != nil {
		t.Fatal(err)
	}
	if why := r.notReady(t); len(why) != 1 || !strings.Contains(why[0], "PIN") {
		t.Fatalf("SIM PIN: %q", why)
	}
	code, body := r.do(t, "POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"locked"}`)
	if code != 409 || body["code"] != "sim_not_ready" {
		t.Fatalf("send with SIM PIN: %d %v", code, body)
	}
}

// Raw commands that change the api's settings are run and the settings
// restored: a send works right after; the transcript says so.
func TestRawThenSend(t *testing.T) {
	r := newRig(t, false)
	for _, cmd := range []string{`AT+CMGF=1`, `AT+CSCS=\"UCS2\"`, `AT+CMEE=0`, `ATZ`, `AT&F`, `ATE1`} {
		code, body := r.do(t, "POST", "/v1/at", adminKey, `{"command":"`+cmd+`"}`)
		if code != 200 || body["final"] != "OK" {
			t.Fatalf("%s: %d %v", cmd, code, body)
		}
		if x := body["transcript"].([]any)[0].(map[string]any); x["restoredSettings"] != true {
			t.Errorf("%s: transcript %v", cmd, x)
		}
		if code, body := r.do(t, "POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"after `+strings.ReplaceAll(cmd, `\"`, "")+`"}`); code != 200 {
			t.Fatalf("send after %s: %d %v", cmd, code, body)
		}
	}
	if n := len(r.d.Sent()); n != 6 {
		t.Errorf("the modem sent %d messages, want 6", n)
	}
}
