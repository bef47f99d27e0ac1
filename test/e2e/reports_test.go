//go:build linux

package e2e

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
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

// reportedMsg is an outbound message as GET /v1/messages/{id} shows it,
// with what the status reports left on its parts and in its history.
type reportedMsg struct {
	ID        string `json:"id"`
	State     string `json:"state"`
	Reason    string `json:"reason"`
	PartCount int    `json:"partCount"`
	Parts     []struct {
		Seq       int    `json:"seq"`
		State     string `json:"state"`
		Reference *int   `json:"reference"`
		Error     string `json:"error"`
		Status    *int   `json:"status"`
	} `json:"parts"`
	History []struct {
		Seq    int    `json:"seq"`
		State  string `json:"state"`
		Detail string `json:"detail"`
	} `json:"history"`
}

// partStatus is a part's TP-ST, -1 if it has had no report.
func (m reportedMsg) partStatus(i int) int {
	if m.Parts[i].Status == nil {
		return -1
	}
	return *m.Parts[i].Status
}

// refs are the parts' TP-MRs (-1 where there is none).
func (m reportedMsg) refs() []int {
	var out []int
	for _, p := range m.Parts {
		r := -1
		if p.Reference != nil {
			r = *p.Reference
		}
		out = append(out, r)
	}
	return out
}

// reportDetails are the history's details of part seq that came from a
// status report, in order.
func (m reportedMsg) reportDetails(seq int) []string {
	var out []string
	for _, h := range m.History {
		if h.Seq == seq && strings.HasPrefix(h.Detail, "report ") {
			out = append(out, h.State+" "+h.Detail)
		}
	}
	return out
}

// postReported accepts a message with a status report requested and
// returns its id.
func (s *stack) postReported(to, text string) string {
	s.t.Helper()
	var m reportedMsg
	body := `{"to":` + jsonString(to) + `,"text":` + jsonString(text) + `,"statusReport":true}`
	if code := s.call("POST", "/v1/messages", userKey, body, &m); code != 202 || m.ID == "" {
		s.t.Fatalf("POST /v1/messages: %d %+v", code, m)
	}
	return m.ID
}

// reported reads GET /v1/messages/{id}.
func (s *stack) reported(id string) reportedMsg {
	s.t.Helper()
	var m reportedMsg
	if code := s.call("GET", "/v1/messages/"+url.PathEscape(id), userKey, "", &m); code != 200 {
		s.t.Fatalf("GET /v1/messages/%s: %d %+v", id, code, m)
	}
	return m
}

// waitReported waits (up to 20 s) until the message satisfies cond.
func (s *stack) waitReported(id, what string, cond func(reportedMsg) bool) reportedMsg {
	s.t.Helper()
	var m reportedMsg
	s.waitFor("message "+id+": "+what, 20*time.Second, func() bool {
		m = s.reported(id)
		return cond(m)
	})
	return m
}

// waitSent waits until every part of the message is sent and returns it.
func (s *stack) waitSent(id string) reportedMsg {
	s.t.Helper()
	return s.waitReported(id, "sent", func(m reportedMsg) bool { return m.State == "sent" })
}

// networkReport makes the simulated network return a status report with
// TP-ST st for the newest submitted part with TP-MR mr.
func (s *stack) networkReport(mr int, st byte) {
	s.t.Helper()
	s.ctlCall("POST", "/status-report", fmt.Sprintf(`{"mr":%d,"status":%d}`, mr, st), nil)
}

// manualReports stops the simulator from answering every submission with
// a delivered report: the test sends each report itself.
func (s *stack) manualReports() {
	s.t.Helper()
	s.ctlCall("PUT", "/report-mode", `{"mode":"manual"}`, nil)
}

// simStatus is the TP-ST the simulator reported for a part, -1 if none.
func simStatus(st *int) int {
	if st == nil {
		return -1
	}
	return *st
}

// twoParts is a GSM 7-bit text of two concatenated parts.
var twoParts = strings.Repeat("two parts, each with its own report. ", 6)

// The network's own reports (the simulator's "deliver" mode: TP-ST 0x00
// right after each submission): a two-part message ends delivered, every
// part delivered with TP-ST 0, the references those the modem answered.
func TestReportDelivered(t *testing.T) {
	s := newStack(t, stackOpts{apiEnv: inboxEnv})
	id := s.postReported("+436601234567", twoParts)
	m := s.waitReported(id, "delivered", func(m reportedMsg) bool { return m.State == "delivered" })
	sent := s.sent()
	if len(sent) != 1 || !sent[0].StatusReportRequested || len(sent[0].Parts) != 2 || m.PartCount != 2 {
		t.Fatalf("the modem sent %+v; message %+v", sent, m)
	}
	for i, p := range m.Parts {
		if p.State != "delivered" || m.partStatus(i) != 0 || p.Reference == nil || *p.Reference != sent[0].Parts[i].MR || simStatus(sent[0].Parts[i].Status) != 0 {
			t.Fatalf("part %d: %+v (the network: MR %d, TP-ST %d)", i+1, p, sent[0].Parts[i].MR, simStatus(sent[0].Parts[i].Status))
		}
		if d := m.reportDetails(p.Seq); len(d) != 1 || !strings.HasPrefix(d[0], "delivered report 0x00") {
			t.Fatalf("part %d: report history %q", i+1, d)
		}
	}
	s.waitFor("SR swept", 10*time.Second, func() bool { return len(s.simStore("SR")) == 0 })
	if u := s.reports(true); len(u) != 0 {
		t.Fatalf("unmatched reports %+v", u)
	}
}

// A multi-part message is delivered only once every part's report has
// come: one part delivered, the other pending (TP-ST 0x20–0x3F) leaves
// it sent; the second part's delivery completes it.
func TestReportMultipartDeliveredWhenEveryPartIs(t *testing.T) {
	s := newStack(t, stackOpts{apiEnv: inboxEnv})
	s.manualReports()
	id := s.postReported("+436601234567", twoParts)
	m := s.waitSent(id)
	refs := m.refs()
	if len(refs) != 2 || refs[0] < 0 || refs[1] < 0 {
		t.Fatalf("references %v", refs)
	}
	s.networkReport(refs[0], 0x00)
	s.networkReport(refs[1], 0x21) // SME busy: the SC keeps trying
	m = s.waitReported(id, "part 1 delivered, part 2's pending report recorded", func(m reportedMsg) bool {
		return m.Parts[0].State == "delivered" && m.partStatus(1) == 0x21
	})
	if m.State != "sent" || m.Parts[1].State != "sent" {
		t.Fatalf("one part delivered, one pending: %+v, want the message and part 2 sent", m)
	}
	s.networkReport(refs[1], 0x00)
	m = s.waitReported(id, "delivered", func(m reportedMsg) bool { return m.State == "delivered" })
	if m.Parts[0].State != "delivered" || m.Parts[1].State != "delivered" || m.partStatus(1) != 0 {
		t.Fatalf("%+v", m)
	}
}

// A permanent error (TP-ST 0x41, incompatible destination) fails the
// part and the message, the reason naming the status.
func TestReportFailed(t *testing.T) {
	s := newStack(t, stackOpts{apiEnv: inboxEnv})
	s.manualReports()
	id := s.postReported("+436601234567", "to a fax machine")
	mr := s.waitSent(id).refs()[0]
	s.networkReport(mr, 0x41)
	m := s.waitReported(id, "failed", func(m reportedMsg) bool { return m.State == "failed" })
	const named = "permanent error, SC not trying any more: incompatible destination"
	if !strings.Contains(m.Reason, named) || m.Parts[0].State != "failed" || m.partStatus(0) != 0x41 || !strings.Contains(m.Parts[0].Error, named) {
		t.Fatalf("failed: %+v; want the reason to name %q", m, named)
	}
	if d := m.reportDetails(1); len(d) != 1 || !strings.HasPrefix(d[0], "failed report 0x41") {
		t.Fatalf("report history %q", d)
	}
	if sent := s.sent(); len(sent) != 1 || simStatus(sent[0].Parts[0].Status) != 0x41 {
		t.Fatalf("the modem sent %+v", sent)
	}
}

// TP-ST 0x20 (congestion, the SC still trying) is recorded and leaves the
// message sent; the 0x00 that follows delivers it. The history shows
// both reports, in order.
func TestReportPendingThenDelivered(t *testing.T) {
	s := newStack(t, stackOpts{apiEnv: inboxEnv})
	s.manualReports()
	id := s.postReported("+436601234567", "eventually")
	mr := s.waitSent(id).refs()[0]
	s.networkReport(mr, 0x20)
	m := s.waitReported(id, "the pending report recorded", func(m reportedMsg) bool { return m.partStatus(0) == 0x20 })
	if m.State != "sent" || m.Parts[0].State != "sent" {
		t.Fatalf("after a pending report: %+v, want sent", m)
	}
	s.networkReport(mr, 0x00)
	m = s.waitReported(id, "delivered", func(m reportedMsg) bool { return m.State == "delivered" })
	d := m.reportDetails(1)
	if len(d) != 2 || !strings.HasPrefix(d[0], "sent report 0x20: temporary error, SC still trying: congestion") ||
		!strings.HasPrefix(d[1], "delivered report 0x00") || m.partStatus(0) != 0 {
		t.Fatalf("history of the reports %q; message %+v", d, m)
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

// TP-MR wraps at 256: after 256 submissions the modem gives the same
// reference again. A report for that reference belongs to the newest part
// with it (the older one, still waiting for its report, keeps waiting).
func TestReportMRWrapMatchesNewest(t *testing.T) {
	s := newStack(t, stackOpts{apiEnv: append([]string{"API_MAX_PARTS=255"}, inboxEnv...)})
	s.manualReports()
	const to = "+436601234567"
	older := s.postReported(to, "the older one")
	mr := s.waitSent(older).refs()[0]
	// 255 parts in between (one message of 255, no report asked for)
	// take every other reference once.
	var filler reportedMsg
	body := `{"to":"+436609876543","text":` + jsonString(strings.Repeat("x", 153*255)) + `}`
	if code := s.call("POST", "/v1/messages", userKey, body, &filler); code != 202 || filler.PartCount != 255 {
		t.Fatalf("the filler: %d %+v", code, filler)
	}
	newer := s.postReported(to, "the newer one")
	if got := s.waitSent(newer).refs()[0]; got != mr {
		t.Fatalf("the newer message got MR %d, the older %d: no wrap", got, mr)
	}
	if f := s.reported(filler.ID); f.State != "sent" || slices.Contains(f.refs(), mr) {
		t.Fatalf("the filler: %s, references %v (MR %d must not be among them)", f.State, f.refs(), mr)
	}
	s.networkReport(mr, 0x00)
	s.waitReported(newer, "delivered", func(m reportedMsg) bool { return m.State == "delivered" })
	if o := s.reported(older); o.State != "sent" || o.partStatus(0) != -1 {
		t.Fatalf("the older message with the same MR: %+v, want sent with no report", o)
	}
	if r := s.reports(false); len(r) != 1 || !r[0].Matched || r[0].MessageID != newer || r[0].Reference != mr {
		t.Fatalf("reports %+v, want one matched to %s", r, newer)
	}
}

// A report that comes while the api is down (killed with SIGKILL) waits
// in the modem's SR store and is swept and matched after the restart.
func TestReportWhileAPIDownIsNotLost(t *testing.T) {
	s := newStack(t, stackOpts{apiEnv: inboxEnv})
	s.manualReports()
	id := s.postReported("+436601234567", "reported while nobody listens")
	mr := s.waitSent(id).refs()[0]
	if err := s.apiProc.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.apiProc.done
	s.networkReport(mr, 0x00)
	if sr := s.simStore("SR"); len(sr) != 1 {
		t.Fatalf("SR holds %+v, want the report", sr)
	}
	s.apiProc = start(t, s.dir, "api", s.apiEnv)
	s.waitReady()
	m := s.waitReported(id, "delivered after the restart", func(m reportedMsg) bool { return m.State == "delivered" })
	if m.partStatus(0) != 0 {
		t.Fatalf("%+v", m)
	}
	s.waitFor("SR swept", 10*time.Second, func() bool { return len(s.simStore("SR")) == 0 })
	if r := s.reports(false); len(r) != 1 || !r[0].Matched || r[0].MessageID != id {
		t.Fatalf("reports %+v", r)
	}
}

// With the api down and the modem's SR store full (20 reports), the
// network holds the further reports; after the restart the sweep drains
// SR, the held reports follow, and every message ends delivered.
func TestReportSRFullHeldInTheNetwork(t *testing.T) {
	s := newStack(t, stackOpts{apiEnv: inboxEnv})
	s.manualReports()
	const n = 23 // SR holds 20
	var ids []string
	for i := range n {
		ids = append(ids, s.postReported("+436601234567", fmt.Sprintf("report %d", i)))
	}
	var mrs []int
	for _, id := range ids {
		mrs = append(mrs, s.waitSent(id).refs()[0])
	}
	if err := s.apiProc.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.apiProc.done
	for _, mr := range mrs {
		s.networkReport(mr, 0x00)
	}
	var st struct {
		Stores      map[string]int `json:"stores"`
		HeldReports int            `json:"heldReports"`
	}
	s.ctlCall("GET", "/state", "", &st)
	if st.Stores["SR"] != 20 || st.HeldReports != n-20 {
		t.Fatalf("with the api down: SR holds %d, the network %d; want 20 and %d", st.Stores["SR"], st.HeldReports, n-20)
	}
	s.apiProc = start(t, s.dir, "api", s.apiEnv)
	s.waitReady()
	for _, id := range ids {
		s.waitReported(id, "delivered after the restart", func(m reportedMsg) bool { return m.State == "delivered" })
	}
	s.ctlCall("GET", "/state", "", &st)
	if st.Stores["SR"] != 0 || st.HeldReports != 0 {
		t.Fatalf("after the sweep: SR holds %d, the network %d", st.Stores["SR"], st.HeldReports)
	}
	if r := s.reports(false); len(r) != n || slices.ContainsFunc(r, func(x report) bool { return !x.Matched }) {
		t.Fatalf("%d reports (want %d, all matched): %+v", len(r), n, r)
	}
}
