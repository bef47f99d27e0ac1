//go:build linux

package e2e

import (
	"fmt"

	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
	"slices"
	"testing"
	"time"
)

// report is one of GET /v1/reports.
type report struct {
	Matched   bool   `json:"matched"`
	MessageID string `json:"messageId"`
	Part      int    `json:"part"`
	Reference int    `json:"reference"`
	Recipient string `json:"recipient"`
	Status    int    `json:"status"`
	Outcome   string `json:"outcome"`
}

func (s *stack) reports(unmatched bool) []report {
	s.t.Helper()
	var out struct{ Reports []report }
	if code := s.call("GET", fmt.Sprintf("/v1/reports?unmatched=%v&limit=500", unmatched), userKey, "", &out); code != 200 {
		s.t.Fatalf("GET /v1/reports: %d", code)
	}
	return out.Reports
}

// waitFor polls cond every 50 ms for up to limit.
func (s *stack) waitFor(what string, limit time.Duration, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A status report no stored part matches (the SMS went out around the
// outbox, by raw AT) is stored, listed as unmatched, and deleted from SR.
func TestReportUnmatchedStoredAndListed(t *testing.T) {
	s := newStack(t, stackOpts{apiEnv: inboxEnv})
	// An SMS-SUBMIT with TP-SRR, sent raw, so that no outbound message in
	// the store knows its reference.
	to, _ := pdu.ParseAddress("+436601234567")
	tp, err := (&pdu.Submit{StatusReportRequest: true, Destination: to, UD: pdu.UserData{Text: "hi"}}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	// The hex of the command line, of the PDU's hex text, and Ctrl-Z.
	hexIn := fmt.Sprintf("%X%X1A", fmt.Sprintf("AT+CMGS=%d\r", len(tp)), fmt.Sprintf("00%X", tp))
	var x struct{ Final string }
	if code := s.call("POST", "/v1/at", adminKey, `{"hex":"`+hexIn+`"}`, &x); code != 200 || x.Final != "OK" {
		t.Fatalf("raw AT+CMGS: %d %+v", code, x)
	}
	sent := s.sent()
	if len(sent) != 1 || !sent[0].StatusReportRequested {
		t.Fatalf("sent %+v", sent)
	}
	mr := sent[0].Parts[0].MR
	s.waitFor("an unmatched report", 10*time.Second, func() bool { return len(s.reports(true)) == 1 && len(s.simStore("SR")) == 0 })
	r := s.reports(true)[0]
	if r.Matched || r.Reference != mr || r.Recipient != "+436601234567" || r.Outcome != "delivered" || r.MessageID != "" {
		t.Fatalf("report %+v, want unmatched, delivered, MR %d", r, mr)
	}
	if all := s.reports(false); !slices.ContainsFunc(all, func(x report) bool { return x.Reference == mr }) {
		t.Fatalf("all reports %+v", all)
	}
}
