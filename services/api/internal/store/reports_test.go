package store

import (
	"context"
	"encoding/hex"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
)

// reportHex encodes an SMS-STATUS-REPORT as +CMGL shows it.
func reportHex(t testing.TB, mr byte, recipient string, st byte) string {
	t.Helper()
	rcpt, err := pdu.ParseAddress(recipient)
	if err != nil {
		t.Fatal(err)
	}
	b, err := (&pdu.StatusReport{MessageRef: mr, Recipient: rcpt, SCTimestamp: scts, DischargeTime: scts.Add(time.Minute), Status: st}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := pdu.EncodeSMSC(smsc)
	return hex.EncodeToString(append(sc, b...))
}

// sendAll claims the message and sends its parts with the given TP-MRs.
func sendAll(t *testing.T, s *Store, modem int64, id string, mrs ...int) {
	t.Helper()
	ctx := context.Background()
	m, _, err := s.ClaimNext(ctx, modem, "")
	if err != nil || m == nil || m.ID != id {
		t.Fatalf("claim %+v, %v", m, err)
	}
	for i, mr := range mrs {
		if _, err := s.PartSubmitting(ctx, id, i+1); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PartSent(ctx, id, i+1, mr); err != nil {
			t.Fatal(err)
		}
	}
}

type reporter struct {
	t     *testing.T
	s     *Store
	modem int64
	idx   int
}

func (r *reporter) report(mr byte, recipient string, st byte) ReportResult {
	r.t.Helper()
	r.idx++
	res, err := r.s.SaveReport(context.Background(), ReportPart{ModemID: r.modem, Storage: "SR", Index: r.idx, PDUHex: reportHex(r.t, mr, recipient, st)})
	if err != nil || !res.New || res.Report == nil {
		r.t.Fatalf("%+v, %v", res, err)
	}
	return res
}

func TestReportsDeliveredFailedPending(t *testing.T) {
	c := newClock()
	s := openTest(t, c)
	ctx := context.Background()
	modem, _ := s.UpsertModem(ctx, testModem)
	rp := &reporter{t: t, s: s, modem: modem}
	to := "+436601234567"

	r := outReq(t, "two", to, longText(2))
	r.Options.StatusReport = true
	s.AcceptOutbound(ctx, r)
	sendAll(t, s, modem, "two", 10, 11)
	c.Add(time.Minute)
	res := rp.report(10, to, pdu.StatusReceived)
	if res.Message == nil || res.Message.State != StateSent || res.Message.Parts[0].State != PartDelivered ||
		!res.Report.Matched || res.Report.MessageID != "two" || res.Report.Seq != 1 || res.Report.Outcome != OutcomeDelivered {
		t.Fatalf("first part delivered: %+v %+v", res.Message, res.Report)
	}
	// Pending (SC still trying): recorded, state unchanged; then delivered.
	res = rp.report(11, to, pdu.StatusSMEBusy)
	if res.Message == nil || res.Message.State != StateSent || res.Message.Parts[1].State != PartSent ||
		res.Message.Parts[1].Status != int(pdu.StatusSMEBusy) || res.Report.Outcome != OutcomePending {
		t.Fatalf("pending: %+v %+v", res.Message, res.Report)
	}
	res = rp.report(11, to, pdu.StatusReceived)
	if res.Message == nil || res.Message.State != StateDelivered {
		t.Fatalf("pending then delivered: %+v", res.Message)
	}

	s.AcceptOutbound(ctx, outReq(t, "bad", to, "x"))
	sendAll(t, s, modem, "bad", 12)
	res = rp.report(12, to, pdu.StatusIncompatibleDest)
	want := "part 1: status report: " + pdu.StatusText(pdu.StatusIncompatibleDest)
	if res.Message == nil || res.Message.State != StateFailed || res.Message.Reason != want {
		t.Fatalf("failed: %+v, want reason %q", res.Message, want)
	}
	h, _ := s.History(ctx, "bad")
	if last := h[len(h)-1]; last.State != string(StateFailed) || last.Seq != 0 {
		t.Fatalf("history ends with %+v", last)
	}
	// Read again from SR after a crash: nothing changes.
	again, err := s.SaveReport(ctx, ReportPart{ModemID: modem, Storage: "SR", Index: rp.idx, PDUHex: reportHex(t, 12, to, pdu.StatusIncompatibleDest)})
	if err != nil || again.New {
		t.Fatalf("re-read %+v, %v", again, err)
	}
}

func TestReportsUnmatchedAndWrap(t *testing.T) {
	c := newClock()
	s := openTest(t, c)
	ctx := context.Background()
	modem, _ := s.UpsertModem(ctx, testModem)
	rp := &reporter{t: t, s: s, modem: modem}
	to := "+436601234567"

	// An old message with TP-MR 7, then 256 references later (beyond the
	// window) a new one with TP-MR 7 again.
	s.AcceptOutbound(ctx, outReq(t, "old", to, "old"))
	sendAll(t, s, modem, "old", 7)
	c.Add(DefaultReportWindow + time.Hour)
	s.AcceptOutbound(ctx, outReq(t, "new", to, "new"))
	sendAll(t, s, modem, "new", 7)
	// The SMSC reports the recipient in national form.
	res := rp.report(7, "06601234567", pdu.StatusReceived)
	if res.Message == nil || res.Message.ID != "new" || res.Message.State != StateDelivered {
		t.Fatalf("wrap: %+v", res.Message)
	}
	// A second report for TP-MR 7: the new part is settled, the old one is
	// outside the window: unmatched, and the old message is untouched.
	res = rp.report(7, to, pdu.StatusReceived)
	if res.Message != nil || res.Report.Matched {
		t.Fatalf("matched %+v", res.Message)
	}
	if old, _ := s.Get(ctx, "old"); old.State != StateSent {
		t.Fatalf("old message %s", old.State)
	}
	// Another recipient with the right reference: unmatched.
	s.AcceptOutbound(ctx, outReq(t, "x", to, "x"))
	sendAll(t, s, modem, "x", 8)
	if res := rp.report(8, "+436609999999", pdu.StatusReceived); res.Message != nil {
		t.Fatalf("matched another recipient: %+v", res.Message)
	}
	// An undecodable report is kept too.
	bad, err := s.SaveReport(ctx, ReportPart{ModemID: modem, Storage: "SR", Index: 99, PDUHex: "0006"})
	if err != nil || !bad.New || bad.Report.Outcome != OutcomeInvalid || bad.Report.Error == "" {
		t.Fatalf("undecodable %+v, %v", bad.Report, err)
	}
	un, err := s.Reports(ctx, true, 0)
	if err != nil || len(un) != 3 {
		t.Fatalf("unmatched %d, %v", len(un), err)
	}
	st, _ := s.Stats(ctx)
	if st.ReportsMatched != 1 || st.ReportsUnmatched != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSameNumber(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"+436601234567", "+436601234567", true},
		{"+436601234567", "06601234567", true},
		{"+436601234567", "436601234567", true},
		{"+436601234567", "+436601234568", false},
		{"+4312345", "12345", false}, // too short to tell
		{"Bank", "Bank", true},
		{"Bank", "+43660", false},
	} {
		if got := SameNumber(c.a, c.b); got != c.want {
			t.Errorf("SameNumber(%q, %q) = %v", c.a, c.b, got)
		}
	}
}
