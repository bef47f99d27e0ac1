//go:build linux

package e2e

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
	"github.com/sim-modem-api/sim-modem-api/simulator/control"
)

// inboxEnv shortens the inbox's timers for tests.
var inboxEnv = []string{"API_INBOX_SWEEP=300ms", "API_INBOX_INCOMPLETE_AFTER=2s"}

// inboxMsg is a message of GET /v1/inbox.
type inboxMsg struct {
	ID           string `json:"id"`
	From         string `json:"from"`
	Text         string `json:"text"`
	DataHex      string `json:"dataHex"`
	Encoding     string `json:"encoding"`
	Class0       bool   `json:"class0"`
	SMSC         string `json:"smsc"`
	SCTime       string `json:"scTime"`
	ReceivedAt   string `json:"receivedAt"`
	State        string `json:"state"`
	PartCount    int    `json:"partCount"`
	Incomplete   bool   `json:"incomplete"`
	MissingParts []int  `json:"missingParts"`
	Read         bool   `json:"read"`
	Parts        []struct {
		Seq int    `json:"seq"`
		PDU string `json:"pdu"`
	} `json:"parts"`
}

// deliver makes the network deliver an SMS to the simulated modem.
func (s *stack) deliver(in control.IncomingSMS) control.Injected {
	s.t.Helper()
	b, _ := json.Marshal(in)
	var out control.Injected
	s.ctlCall("POST", "/sms", string(b), &out)
	return out
}

// simStore lists a simulated modem store (SM, ME, SR).
func (s *stack) simStore(mem string) []control.StoredSMS {
	s.t.Helper()
	var out []control.StoredSMS
	s.ctlCall("GET", "/messages/"+mem, "", &out)
	return out
}

// inbox lists the whole inbox through the API, page by page.
func (s *stack) inbox() []inboxMsg { return allPages[inboxMsg](s, "/v1/inbox?limit=200") }

// allPages follows a listing's cursor (path has a query already) and
// returns every message of every page.
func allPages[T any](s *stack, path string) []T {
	s.t.Helper()
	var all []T
	for next := path; ; {
		var page struct {
			Messages []T    `json:"messages"`
			Next     string `json:"next"`
		}
		if code := s.call("GET", next, userKey, "", &page); code != 200 {
			s.t.Fatalf("GET %s: %d", next, code)
		}
		all = append(all, page.Messages...)
		if page.Next == "" {
			return all
		}
		next = path + "&cursor=" + url.QueryEscape(page.Next)
	}
}

// waitInbox waits (up to limit) until the inbox holds n messages and the
// modem's SM and ME stores are empty; it returns the inbox.
func (s *stack) waitInbox(n int, limit time.Duration) []inboxMsg {
	s.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		msgs := s.inbox()
		sm, me := s.simStore("SM"), s.simStore("ME")
		if len(msgs) >= n && len(sm) == 0 && len(me) == 0 {
			return msgs
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("after %v: %d messages in the inbox (want %d), %d in SM, %d in ME", limit, len(msgs), n, len(sm), len(me))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// nationalPDU is an SMS-DELIVER from a national number (TON 010), which
// the control API's "from" cannot make.
func nationalPDU(t *testing.T, text string, ts time.Time) string {
	t.Helper()
	tp, err := (&pdu.Deliver{Originator: pdu.Address{Number: "06641234567", TON: pdu.TONNational, NPI: pdu.NPIISDN},
		DCS: pdu.NewDCS(pdu.AlphabetGSM7, -1), Timestamp: ts, UD: pdu.UserData{Text: text}}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	return "07914306600501F0" + strings.ToUpper(hex.EncodeToString(tp))
}

func TestInboxEveryFormExactlyOnce(t *testing.T) {
	s := newStack(t, stackOpts{apiEnv: inboxEnv})
	vienna := time.FixedZone("", 2*3600)
	ts := time.Date(2025, 6, 1, 14, 30, 5, 0, vienna)
	emoji := strings.Repeat("😀", 70) + "🇦🇹" // 3 UCS-2 parts, a surrogate pair split between parts
	long := strings.Repeat("The quick brown fox {€} jumps over the lazy dog. ", 7)
	data := make([]byte, 180)
	for i := range data {
		data[i] = byte(255 - i)
	}
	type want struct {
		from, text, data, encoding string
		parts                      int
		class0                     bool
	}
	cases := []struct {
		in   control.IncomingSMS
		want want
	}{
		{control.IncomingSMS{From: "+436601234567", Text: "Preis: 5€ [Aktion] {x} ~ ^ | \\", Time: ts.Format(time.RFC3339)},
			want{"+436601234567", "Preis: 5€ [Aktion] {x} ~ ^ | \\", "", "gsm7", 1, false}},
		{control.IncomingSMS{From: "+436601234567", Text: emoji, Ref16: true, Order: []int{3, 1, 3, 2}, Time: ts.Format(time.RFC3339)},
			want{"+436601234567", emoji, "", "ucs2", 3, false}},
		{control.IncomingSMS{From: "+491701234567", Alphabet: "8bit", DataHex: hex.EncodeToString(data), Order: []int{2, 1}},
			want{"+491701234567", "", strings.ToUpper(hex.EncodeToString(data)), "8bit", 2, false}},
		{control.IncomingSMS{From: "MyBank", Text: "Code 123456", Flash: true},
			want{"MyBank", "Code 123456", "", "gsm7", 1, true}},
		{control.IncomingSMS{PDU: nationalPDU(t, "from a national number", ts)},
			want{"06641234567", "from a national number", "", "gsm7", 1, false}},
		{control.IncomingSMS{From: "0800", Text: "short code"},
			want{"0800", "short code", "", "gsm7", 1, false}},
		{control.IncomingSMS{From: "+436601234567", Text: long, Order: []int{2, 3, 1, 2}},
			want{"+436601234567", long, "", "gsm7", 3, false}},
		{control.IncomingSMS{From: "+436601234567", Text: "16-bit " + long, Ref16: true, Order: []int{3, 2, 1}},
			want{"+436601234567", "16-bit " + long, "", "gsm7", 3, false}},
	}
	for _, c := range cases {
		s.deliver(c.in)
	}
	s.waitInbox(len(cases), 20*time.Second)
	// Let a few more sweeps run: nothing may appear twice.
	time.Sleep(time.Second)
	msgs := s.inbox()
	if len(msgs) != len(cases) {
		t.Fatalf("inbox has %d messages, want %d: %+v", len(msgs), len(cases), msgs)
	}
	for _, c := range cases {
		w := c.want
		i := slices.IndexFunc(msgs, func(m inboxMsg) bool { return m.From == w.from && m.Text == w.text && m.DataHex == w.data })
		if i < 0 {
			t.Errorf("not in the inbox: from %q text %q data %q", w.from, w.text, w.data)
			continue
		}
		m := msgs[i]
		if m.Encoding != w.encoding || m.PartCount != w.parts || m.Class0 != w.class0 || m.State != "received" || m.Incomplete ||
			m.SMSC == "" || m.SCTime == "" || m.ReceivedAt == "" || m.Read {
			t.Errorf("message from %q: %+v; want encoding %s, %d parts, class0 %v", w.from, m, w.encoding, w.parts, w.class0)
		}
		if c.in.Time != "" && m.SCTime != "2025-06-01T14:30:05+02:00" {
			t.Errorf("message from %q: scTime %q, want the network's time with its +02:00 zone", w.from, m.SCTime)
		}
	}
	// GET one marks it read and shows its raw parts.
	var one inboxMsg
	if code := s.call("GET", "/v1/inbox/"+msgs[0].ID, userKey, "", &one); code != 200 || !one.Read || len(one.Parts) == 0 || one.Parts[0].PDU == "" {
		t.Fatalf("GET /v1/inbox/%s: %d %+v", msgs[0].ID, code, one)
	}
	var unread struct{ Messages []inboxMsg }
	if s.call("GET", "/v1/inbox?unread=true&limit=100", userKey, "", &unread); len(unread.Messages) != len(cases)-1 {
		t.Errorf("unread: %d, want %d", len(unread.Messages), len(cases)-1)
	}
	if code := s.call("DELETE", "/v1/inbox/"+msgs[0].ID, userKey, "", nil); code != 204 {
		t.Errorf("DELETE: %d", code)
	}
	if code := s.call("GET", "/v1/inbox/"+msgs[0].ID, userKey, "", nil); code != 404 {
		t.Errorf("GET after DELETE: %d", code)
	}
	if sm := s.simStore("SM"); len(sm) != 0 {
		t.Fatalf("SM not empty: %+v", sm)
	}
}

// A message whose middle part never arrives is delivered as incomplete,
// with its missing part, after API_INBOX_INCOMPLETE_AFTER.
func TestInboxIncomplete(t *testing.T) {
	s := newStack(t, stackOpts{apiEnv: inboxEnv})
	from, _ := pdu.ParseAddress("+436601234567")
	_, uds, err := pdu.SplitText(strings.Repeat("0123456789", 40), 0x1234, true)
	if err != nil || len(uds) != 3 {
		t.Fatalf("split: %d %v", len(uds), err)
	}
	for _, i := range []int{2, 0} {
		tp, err := (&pdu.Deliver{Originator: from, DCS: pdu.NewDCS(pdu.AlphabetGSM7, -1), Timestamp: time.Now(), UD: uds[i]}).Encode()
		if err != nil {
			t.Fatal(err)
		}
		s.deliver(control.IncomingSMS{PDU: "00" + hex.EncodeToString(tp)})
	}
	msgs := s.waitInbox(1, 20*time.Second)
	m := msgs[0]
	if !m.Incomplete || m.State != "incomplete" || !slices.Equal(m.MissingParts, []int{2}) || m.PartCount != 3 || m.Text != uds[0].Text+uds[2].Text {
		t.Fatalf("incomplete message %+v", m)
	}
}

// A full SIM store is drained, and the messages the network held while
// it was full then arrive: all exactly once. The drain time is the
// benchmark figure (from the api's start to the store empty).
func TestInboxDrainsFullSIMStore(t *testing.T) {
	s := newStack(t, stackOpts{apiEnv: inboxEnv})
	s.apiProc.stop(t) // the api is away: the modem's store fills
	var texts []string
	waiting := 0
	for i := range 27 {
		texts = append(texts, fmt.Sprintf("single %02d", i))
	}
	for i := range 3 {
		texts = append(texts, fmt.Sprintf("multi %d ", i)+strings.Repeat("abcdefghij", 25)) // 2 parts each
	}
	for i, tx := range texts {
		waiting += s.deliver(control.IncomingSMS{From: fmt.Sprintf("+4366012345%02d", i), Text: tx}).Waiting
	}
	if sm := s.simStore("SM"); len(sm) != 30 || waiting != 3 {
		t.Fatalf("SM holds %d, %d parts wait in the network; want 30 and 3", len(sm), waiting)
	}
	t0 := time.Now()
	s.apiProc = start(t, s.dir, "api", s.apiEnv)
	s.waitHTTP("http://" + s.api + "/healthz")
	msgs := s.waitInbox(len(texts), 30*time.Second)
	took := time.Since(t0)
	t.Logf("drained a full SIM store (30 stored, 3 held in the network; %d messages, 3 of 2 parts) in %v from the api's start", len(texts), took)
	var got []string
	for _, m := range msgs {
		got = append(got, m.Text)
	}
	slices.Sort(got)
	slices.Sort(texts)
	if !slices.Equal(got, texts) {
		t.Fatalf("inbox:\n%q\nwant\n%q", got, texts)
	}
}
