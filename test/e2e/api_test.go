//go:build linux

package e2e

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
)

// What the simulator received decodes back to the exact input.
func TestSendDecodesBack(t *testing.T) {
	s := newStack(t, stackOpts{})
	for _, tc := range []struct {
		name, text, encoding string
		parts                int
	}{
		{"gsm7", "Hello World! @£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞ", "gsm7", 1},
		{"extension", "Extension: [€] {~} ^|\\ and a form feed\f", "gsm7", 1},
		{"ucs2 emoji", "Grüße 👋🏽 from Vienna 🇦🇹 — 世界", "ucs2", 1},
		{"2 parts gsm7", strings.Repeat("0123456789", 20), "gsm7", 2},
		{"3 parts ucs2", strings.Repeat("😀", 90), "ucs2", 3},
		{"10 parts", strings.Repeat("Ab€", 370), "gsm7", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r smsResp
			code := s.call("POST", "/v1/sms", userKey, `{"to":"+436601234567","text":`+jsonString(tc.text)+`}`, &r)
			if code != 200 || r.PartCount != tc.parts || r.Encoding != tc.encoding || len(r.Parts) != tc.parts {
				t.Fatalf("%d %+v, want %d %s parts", code, r, tc.parts, tc.encoding)
			}
			sent := s.sent()
			got := sent[len(sent)-1]
			if got.Text != tc.text || got.Recipient != "+436601234567" || len(got.Parts) != tc.parts {
				t.Fatalf("simulator received %q in %d parts, want %q", got.Text, len(got.Parts), tc.text)
			}
			for i, p := range got.Parts {
				if p.MR != r.Parts[i].Reference {
					t.Errorf("part %d: api says reference %d, modem %d", i+1, r.Parts[i].Reference, p.MR)
				}
			}
		})
	}
}

// 200 concurrent mixed requests: all answered, and on the wire every
// multipart SMS's commands are contiguous (no interleaving).
func TestConcurrentNoInterleaving(t *testing.T) {
	s := newStack(t, stackOpts{})
	s.ctlCall("DELETE", "/transcript", "", nil)
	s.ctlCall("DELETE", "/sent", "", nil)
	texts := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan string, 200)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var code int
			switch i % 5 {
			case 0, 1: // multipart SMS, 2 or 3 parts
				text := fmt.Sprintf("msg %03d 😀 ", i) + strings.Repeat("x", 70+(i%3)*60)
				mu.Lock()
				texts[text] = true
				mu.Unlock()
				var r smsResp
				code = s.call("POST", "/v1/sms", userKey, `{"to":"+4366012345`+fmt.Sprintf("%02d", i%100)+`","text":`+jsonString(text)+`}`, &r)
			case 2:
				code = s.call("GET", "/v1/modem/status", userKey, "", nil)
			case 3:
				code = s.call("GET", "/info/signal-quality", userKey, "", nil)
			case 4:
				code = s.call("POST", "/sms", userKey, `{"recipient":"+436601234567","message":"original `+fmt.Sprint(i)+`"}`, nil)
				mu.Lock()
				texts["original "+fmt.Sprint(i)] = true
				mu.Unlock()
			}
			if code != 200 {
				errs <- fmt.Sprintf("request %d: %d", i, code)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	// Every message arrived intact.
	for _, m := range s.sent() {
		if !texts[m.Text] {
			t.Errorf("simulator received %q, which nobody sent", m.Text)
		}
		delete(texts, m.Text)
	}
	if len(texts) != 0 {
		t.Errorf("%d messages missing", len(texts))
	}
	// On the wire: the parts of one concatenated message follow each other
	// (each written, submitted and deleted: AT+CMGW, AT+CMSS, AT+CMGD)
	// without any other command in between.
	tr := s.transcript()
	lastIdx := map[int]int{}
	seen := map[int]int{}
	for i, x := range tr {
		if !strings.HasPrefix(x.Command, "AT+CMGW=") {
			continue
		}
		b, err := hex.DecodeString(x.Body)
		if err != nil {
			t.Fatalf("exchange %d: body %q", i, x.Body)
		}
		_, tpdu, err := pdu.SplitSMSC(b)
		if err != nil {
			t.Fatal(err)
		}
		sub, err := pdu.DecodeSubmit(tpdu)
		if err != nil {
			t.Fatal(err)
		}
		c, ok := sub.UD.Concat()
		if !ok {
			continue
		}
		key := int(c.Ref)<<16 | int(sub.Destination.Number[len(sub.Destination.Number)-1])
		if prev, ok := lastIdx[key]; ok {
			for _, between := range tr[prev+1 : i] {
				if !strings.HasPrefix(between.Command, "AT+CMSS=") && !strings.HasPrefix(between.Command, "AT+CMGD=") {
					t.Errorf("part %d of message ref %d is exchange %d, the previous part was %d: interleaved with %q",
						c.Seq, c.Ref, i, prev, between.Command)
					break
				}
			}
		}
		if seen[key]+1 != int(c.Seq) {
			t.Errorf("message ref %d: part %d after part %d", c.Ref, c.Seq, seen[key])
		}
		lastIdx[key], seen[key] = i, int(c.Seq)
	}
	if len(lastIdx) == 0 {
		t.Fatal("no multipart messages in the transcript")
	}
}

// Interleaved URCs, noise and a slow modem do not confuse the api.
func TestURCNoiseAndSlowModem(t *testing.T) {
	s := newStack(t, stackOpts{})
	s.ctlCall("PUT", "/faults", `{"interleaveUrc":true,"delay":"30ms","noiseRate":0.3}`, nil)
	text := "Noise 🔊 " + strings.Repeat("ab", 80)
	var r smsResp
	if code := s.call("POST", "/v1/sms", userKey, `{"to":"+436601234567","text":`+jsonString(text)+`}`, &r); code != 200 {
		t.Fatalf("%d %+v", code, r)
	}
	sent := s.sent()
	if got := sent[len(sent)-1]; got.Text != text || len(got.Parts) != r.PartCount {
		t.Fatalf("received %q", got.Text)
	}
	s.ctlCall("POST", "/urc", `{"line":"+ZUSIMR:2"}`, nil)
	s.ctlCall("POST", "/noise", `{"hex":"00ff1b0d0a"}`, nil) // garbage bytes between commands
	var x struct {
		Final      string
		Transcript []struct{ Response []string }
	}
	// The garbage may be taken as information text if it arrives after the
	// command went out (the modem cannot tell), but never as its final.
	if code := s.call("POST", "/v1/at", adminKey, `{"command":"AT+CGMI"}`, &x); code != 200 || x.Final != "OK" ||
		len(x.Transcript) != 1 || !strings.Contains(strings.Join(x.Transcript[0].Response, "\n"), "ZTE CORPORATION") {
		t.Fatalf("%d %+v", code, x)
	}
	var u struct{ Text string }
	if code := s.call("POST", "/v1/ussd", userKey, `{"code":"*100#"}`, &u); code != 200 || u.Text != "Your balance is EUR 12.34" {
		t.Fatalf("ussd %d %+v", code, u)
	}
}

// Every bad input gets its 4xx with a field-level message over real HTTP
// (including the body limit), and nothing reaches the modem.
func TestBadInputs(t *testing.T) {
	s := newStack(t, stackOpts{apiEnv: []string{"API_BODY_LIMIT=2048", "API_POLL_INTERVAL=1h"}})
	before := len(s.transcript())
	for _, tc := range []struct {
		method, path, key, body string
		want                    int
		field                   string
	}{
		{"POST", "/v1/sms", "", `{"to":"+436601234567","text":"x"}`, 401, ""},
		{"POST", "/v1/at", userKey, `{"command":"AT"}`, 403, ""},
		{"POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"x","bogus":1}`, 400, "bogus"},
		{"POST", "/v1/sms", userKey, `not json`, 400, ""},
		{"POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"` + strings.Repeat("x", 3000) + `"}`, 413, ""},
		{"POST", "/v1/sms", userKey, `{"to":"Bank","text":"x"}`, 422, "to"},
		{"POST", "/v1/sms", userKey, `{"to":"0660123","text":"x","validity":"1s"}`, 422, "validity"},
		{"POST", "/v1/sms", userKey, `{"to":"+436601234567;AT+CFUN=0","text":"x"}`, 422, "to"},
		{"POST", "/sms", userKey, `{"recipient":"+436601234567"}`, 422, "message"},
		{"POST", "/v1/ussd", userKey, `{"code":"*100#\"\r"}`, 422, "code"},
		{"POST", "/v1/at", adminKey, `{"command":"ATE1\r\nAT+CFUN=0"}`, 422, "command"},
		{"POST", "/v1/at", adminKey, `{"command":"AT+CMGS=10"}`, 400, "command"}, // command_refused
		{"POST", "/v1/at", adminKey, `{"hex":"41540D1B"}`, 422, "hex"},
		{"POST", "/v1/sim/pin", adminKey, `{"pin":"1"}`, 422, "pin"},
		{"POST", "/custom-command", adminKey, `{"readableCommand":"AT<heartbeat>"}`, 422, "readableCommand"},
		{"GET", "/nope", userKey, ``, 404, ""},
	} {
		var r smsResp
		code := s.call(tc.method, tc.path, tc.key, tc.body, &r)
		if code != tc.want || r.Error == "" || r.Code == "" {
			t.Errorf("%s %s %.50q: %d %+v, want %d with an error", tc.method, tc.path, tc.body, code, r, tc.want)
			continue
		}
		if tc.field != "" && (len(r.Fields) == 0 || r.Fields[0].Field != tc.field || r.Fields[0].Message == "") {
			t.Errorf("%s %s %.50q: fields %+v, want %s", tc.method, tc.path, tc.body, r.Fields, tc.field)
		}
	}
	if tr := s.transcript(); len(tr) != before {
		t.Fatalf("bad input reached the modem: %+v", tr[before:])
	}
}

// The original REST server's endpoints, shapes and results.
func TestOriginalEndpoints(t *testing.T) {
	s := newStack(t, stackOpts{})
	type orig struct {
		Result           string `json:"result"`
		ExecutedCommands []struct {
			Command  string   `json:"command"`
			Response []string `json:"response"`
			Final    string   `json:"final"`
		} `json:"executedCommands"`
	}
	var o orig
	msg := strings.Repeat("Original ✓ ", 10)
	if code := s.call("POST", "/sms", userKey, `{"recipient":"+436601234567","message":`+jsonString(msg)+`,"validityPeriodUnit":"DAYS","validityPeriodValue":3}`, &o); code != 200 || o.Result != "SUCCESS" || len(o.ExecutedCommands) != 2 {
		t.Fatalf("POST /sms: %d %+v", code, o)
	}
	got := s.sent()[len(s.sent())-1]
	if got.Text != msg || !got.StatusReportRequested || got.Validity != "72h0m0s" {
		t.Fatalf("received %+v", got)
	}
	for path, want := range map[string]*regexp.Regexp{
		"/info/signal-quality":            regexp.MustCompile(`^\+CSQ: \d+,\d+$`),
		"/info/subscriber-number":         regexp.MustCompile(`^\+CNUM: `),
		"/info/selected-character-set":    regexp.MustCompile(`^\+CSCS: "GSM"$`),
		"/info/selectable-character-sets": regexp.MustCompile(`^\+CSCS: \(.*"UCS2".*\)$`),
	} {
		o = orig{}
		if code := s.call("GET", path, userKey, "", &o); code != 200 || o.Result != "SUCCESS" || len(o.ExecutedCommands) != 1 ||
			len(o.ExecutedCommands[0].Response) == 0 || !want.MatchString(o.ExecutedCommands[0].Response[0]) {
			t.Errorf("GET %s: %d %+v", path, code, o)
		}
	}
	o = orig{}
	if code := s.call("POST", "/custom-command", adminKey, `{"binaryCommand":"41542B43474D4D0D","readableCommand":"AT+CGMM","timeoutMs":2000}`, &o); code != 200 ||
		o.Result != "SUCCESS" || o.ExecutedCommands[0].Response[0] != "MF831" {
		t.Errorf("custom-command: %d %+v", code, o)
	}
	o = orig{}
	if code := s.call("POST", "/custom-command", adminKey, `{"readableCommand":"AT+NOPE"}`, &o); code != 502 || o.Result != "PREDICATE_MISMATCH" {
		t.Errorf("custom-command error: %d %+v", code, o)
	}
}

// With no key configured the first start generates an admin key, prints it
// once, and nothing works without it.
func TestGeneratedKey(t *testing.T) {
	s := newStack(t, stackOpts{noKeys: true})
	if code := s.call("POST", "/v1/sms", "", `{"to":"+436601234567","text":"x"}`, nil); code != 401 {
		t.Fatalf("without key: %d", code)
	}
	key := s.key
	var r smsResp
	if code := s.call("POST", "/v1/sms", key, `{"to":"+436601234567","text":"x"}`, &r); code != 200 {
		t.Fatalf("with the generated key: %d %+v", code, r)
	}
	if code := s.call("POST", "/v1/at", key, `{"command":"AT"}`, nil); code != 200 {
		t.Fatalf("the generated key is not admin: %d", code)
	}
}

// USSD (a balance, a multi-line menu, the ZTE UCS-2 quirk) and the SIM PIN
// flow through the whole stack.
func TestUSSDAndPIN(t *testing.T) {
	s := newStack(t, stackOpts{})
	type ussd struct {
		Status int    `json:"status"`
		Text   string `json:"text"`
	}
	var u ussd
	if code := s.call("POST", "/v1/ussd", userKey, `{"code":"*101#"}`, &u); code != 200 || u.Status != 1 || u.Text != "Menu\n1 Balance\n2 Data packages\n3 Exit" {
		t.Fatalf("menu: %d %+v", code, u)
	}
	if code := s.call("POST", "/v1/ussd", userKey, `{"code":"1"}`, &u); code != 200 || u.Status != 0 || u.Text != "Your balance is EUR 12.34" {
		t.Fatalf("menu choice: %d %+v", code, u)
	}
	var st struct {
		Reachable bool
		Status    struct{ SIM string }
	}
	s.ctlCall("PUT", "/sim", `{"state":"pin"}`, nil)
	waitFor(t, "the snapshot to show the SIM PIN", func() bool {
		s.call("GET", "/v1/modem/status", userKey, "", &st)
		return st.Status.SIM == "pin"
	})
	var e smsResp
	if code := s.call("POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"locked"}`, &e); code != 409 && code != 502 {
		t.Fatalf("send with SIM PIN: %d %+v", code, e)
	}
	if code := s.call("POST", "/v1/sim/pin", userKey, `{"pin":"1234"}`, nil); code != 403 {
		t.Fatalf("PIN with a user key: %d", code)
	}
	if code := s.call("POST", "/v1/sim/pin", adminKey, `{"pin":"9999"}`, &e); code != 422 || e.Code != "incorrect_pin" {
		t.Fatalf("wrong PIN: %d %+v", code, e)
	}
	var p struct{ SIM string }
	if code := s.call("POST", "/v1/sim/pin", adminKey, `{"pin":"1234"}`, &p); code != 200 || p.SIM != "ready" {
		t.Fatalf("PIN: %d %+v", code, p)
	}
	waitFor(t, "the snapshot to show the SIM ready", func() bool {
		s.call("GET", "/v1/modem/status", userKey, "", &st)
		return st.Status.SIM == "ready"
	})
	if code := s.call("POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"unlocked"}`, &e); code != 200 {
		t.Fatalf("send after PIN: %d %+v", code, e)
	}
}
