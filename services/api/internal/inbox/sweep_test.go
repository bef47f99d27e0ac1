package inbox

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
	"github.com/sim-modem-api/sim-modem-api/modem/smsmem"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
	"github.com/sim-modem-api/sim-modem-api/simulator/device"
)

// want is what one delivered SMS must look like in the inbox.
type want struct {
	from, text, data string
	parts            int
	flash            bool
}

// every form the network sends (issue 9): GSM 7-bit with the extension
// table, UCS-2 with surrogate pairs split across parts, 8-bit data,
// class 0, alphanumeric, international, unknown-type (national digits)
// and short-code senders, concatenated with 8- and 16-bit references in
// any order, with a duplicate part.
func everyForm() ([]device.IncomingSMS, []want) {
	emoji := strings.Repeat("😀", 70) + "🇦🇹"                                       // 144 UTF-16 units: 3 UCS-2 parts, a pair split between parts
	long := strings.Repeat("The quick brown fox jumps over the lazy dog {€} ", 8) // GSM 7-bit with extension characters, 3 parts
	data := make([]byte, 200)
	for i := range data {
		data[i] = byte(i * 7)
	}
	in := []device.IncomingSMS{
		{From: "+436601234567", Text: "Preis: 5€ [Aktion] {x} ~ ^ | \\ – ok"},
		{From: "+436601234567", Text: emoji, Ref16: true, Order: []int{3, 1, 3, 2}},
		{From: "+491701234567", Alphabet: "8bit", Data: data, Order: []int{2, 1}},
		{From: "MyBank", Text: "Code 123456", Flash: true},
		{From: "06641234567", Text: "national digits"},
		{From: "1234", Text: "short code"},
		{From: "+436601234567", Text: long, Order: []int{2, 3, 1, 2}},
		{From: "+436601234567", Text: long, Ref16: true, Order: []int{3, 2, 1}},
	}
	w := []want{
		{from: "+436601234567", text: in[0].Text, parts: 1},
		{from: "+436601234567", text: emoji, parts: 3},
		{from: "+491701234567", data: strings.ToUpper(hex.EncodeToString(data)), parts: 2},
		{from: "MyBank", text: "Code 123456", parts: 1, flash: true},
		{from: "06641234567", text: "national digits", parts: 1},
		{from: "1234", text: "short code", parts: 1},
		{from: "+436601234567", text: long, parts: 3},
		{from: "+436601234567", text: long, parts: 3},
	}
	return in, w
}

// key identifies a delivered message's content.
func key(from, text, data string) string { return from + "\x00" + text + "\x00" + data }

func TestSweepStoresEveryFormExactlyOnce(t *testing.T) {
	r := newRig(t, device.Config{}, store.Options{}, Config{})
	in, w := everyForm()
	for _, m := range in {
		r.inject(t, m)
	}
	res := r.sweep(t)
	if res.Parts != 17 || res.Again != 0 || res.Deleted != 17 || res.Left != 0 {
		// 17 parts delivered: 16 distinct and one duplicate (the duplicate
		// is kept in the store but counted once in its message).
		t.Errorf("result %+v: want 17 parts stored (one a duplicate), 17 deleted", res)
	}
	if got := r.stored(t, "SM"); len(got) != 0 {
		t.Fatalf("SM after the sweep: %+v", got)
	}
	msgs := r.inbox(t)
	if len(msgs) != len(w) {
		t.Fatalf("inbox has %d messages, want %d", len(msgs), len(w))
	}
	got := map[string]*store.Message{}
	for _, m := range msgs {
		k := key(m.Peer, m.Text, m.DataHex)
		if got[k] != nil && k != key(w[6].from, w[6].text, "") {
			t.Errorf("message %q twice", k)
		}
		got[k] = m
	}
	for _, x := range w {
		m := got[key(x.from, x.text, x.data)]
		if m == nil {
			t.Errorf("missing: from %q text %q data %q", x.from, x.text, x.data)
			continue
		}
		if m.State != store.StateReceived || m.PartCount != x.parts || m.Options.Flash != x.flash || m.SMSC == "" || m.SCTime.IsZero() {
			t.Errorf("message from %q: state %s, %d parts, flash %v, SMSC %q, SC time %v; want received, %d parts, flash %v",
				x.from, m.State, m.PartCount, m.Options.Flash, m.SMSC, m.SCTime, x.parts, x.flash)
		}
	}
	// A second sweep finds nothing.
	if res := r.sweep(t); res.Parts+res.Again+res.Deleted != 0 {
		t.Errorf("second sweep: %+v", res)
	}
}

// A crash between the commit and AT+CMGD leaves messages stored and still
// in the modem: the next sweep recognises every one and only deletes.
func TestSweepAfterCrashBetweenCommitAndDelete(t *testing.T) {
	r := newRig(t, device.Config{}, store.Options{}, Config{})
	in, w := everyForm()
	for _, m := range in[:4] {
		r.inject(t, m)
	}
	ctx := context.Background()
	resp, err := r.e.Command(ctx, "+CMGL=4")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := smsmem.ParseList(resp.Lines)
	if err != nil || len(entries) != 8 {
		t.Fatalf("listing: %d entries, %v", len(entries), err)
	}
	// The first sweep committed every part and was killed before deleting.
	for _, en := range entries {
		if _, err := r.st.SavePart(ctx, store.InboundPart{ModemID: r.modem, Storage: "SM", Index: en.Index, PDUHex: en.PDU}); err != nil {
			t.Fatal(err)
		}
	}
	res := r.sweep(t)
	if res.Parts != 0 || res.Again != 8 || res.Deleted != 8 {
		t.Errorf("result %+v: want every part found stored (8) and deleted", res)
	}
	if got := r.stored(t, "SM"); len(got) != 0 {
		t.Fatalf("SM after the sweep: %+v", got)
	}
	msgs := r.inbox(t)
	if len(msgs) != 4 {
		t.Fatalf("inbox has %d messages, want 4", len(msgs))
	}
	for i, m := range msgs {
		found := false
		for _, x := range w[:4] {
			found = found || key(m.Peer, m.Text, m.DataHex) == key(x.from, x.text, x.data)
		}
		if !found {
			t.Errorf("message %d: unexpected %q %q %q", i, m.Peer, m.Text, m.DataHex)
		}
	}
}

// A full SIM store is drained, and the messages the network held while it
// was full arrive and are drained too.
func TestSweepDrainsFullStore(t *testing.T) {
	r := newRig(t, device.Config{}, store.Options{}, Config{})
	total, waiting := 0, 0
	var texts []string
	for i := range 30 {
		texts = append(texts, fmt.Sprintf("message %02d", i))
	}
	for i := range 3 {
		texts = append(texts, fmt.Sprintf("long %d ", i)+strings.Repeat("x", 300))
	}
	for _, tx := range texts {
		res := r.inject(t, device.IncomingSMS{From: "+436601234567", Text: tx})
		total += res.Parts
		waiting += res.Waiting
	}
	if waiting == 0 {
		t.Fatalf("no part waits in the network: the store did not fill (%d parts)", total)
	}
	first := r.sweep(t)
	if len(first.Fills) == 0 || !first.Fills[0].Full() || first.Fills[0].Memory != "SM" {
		t.Errorf("first sweep's fills %+v: want SM full first", first.Fills)
	}
	sweeps := 1
	for len(r.stored(t, "SM")) > 0 {
		if sweeps++; sweeps > 5 {
			t.Fatalf("SM not empty after %d sweeps", sweeps)
		}
		r.sweep(t)
	}
	msgs := r.inbox(t)
	var got []string
	for _, m := range msgs {
		got = append(got, m.Text)
	}
	slices.Sort(got)
	slices.Sort(texts)
	if !slices.Equal(got, texts) {
		t.Fatalf("inbox after draining a full store:\n%q\nwant\n%q", got, texts)
	}
}

// Messages the outbox stored (AT+CMGW: STO UNSENT) are not the inbox's.
func TestSweepLeavesStoredSubmissions(t *testing.T) {
	r := newRig(t, device.Config{}, store.Options{}, Config{})
	p, err := r.ops.Prepare(modemops.SMS{To: "+436601234567", Text: "outgoing"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := r.storeSubmit(ctx, p.PDUs[0]); err != nil {
		t.Fatal(err)
	}
	r.inject(t, device.IncomingSMS{From: "+436601234567", Text: "incoming"})
	res := r.sweep(t)
	if res.Parts != 1 || res.Deleted != 1 || res.Left != 1 {
		t.Errorf("result %+v: want the received one taken and the stored submission left", res)
	}
	left := r.stored(t, "SM")
	if len(left) != 1 || left[0].Stat != smsmem.StatStoUnsent {
		t.Fatalf("SM after the sweep: %+v", left)
	}
}

// Status reports land in SR (+CNMI <ds>=2) and are committed, then deleted.
func TestSweepStoresStatusReports(t *testing.T) {
	r := newRig(t, device.Config{}, store.Options{}, Config{})
	p, err := r.ops.Prepare(modemops.SMS{To: "+436601234567", Text: "please report", StatusReport: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.d.SetReportMode(device.ReportManual); err != nil {
		t.Fatal(err)
	}
	// Sent around the outbox, its way: stored (AT+CMGW), sent (AT+CMSS).
	idx, err := r.storeSubmit(ctx, p.PDUs[0])
	if err != nil {
		t.Fatal(err)
	}
	resp, err := r.e.Command(ctx, "+CMSS="+strconv.Itoa(idx))
	v, _ := resp.Value("+CMSS")
	mr, perr := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || perr != nil {
		t.Fatalf("AT+CMSS=%d: %q, %v", idx, v, err)
	}
	if err := r.d.SendStatusReport(mr, 0x00); err != nil { // delivered
		t.Fatal(err)
	}
	if got := r.stored(t, "SR"); len(got) != 1 {
		t.Fatalf("SR after sending with a status report requested: %+v", got)
	}
	res := r.sweep(t)
	if res.Reports != 1 || res.Deleted != 1 {
		t.Errorf("result %+v: want one report stored and deleted", res)
	}
	if got := r.stored(t, "SR"); len(got) != 0 {
		t.Fatalf("SR after the sweep: %+v", got)
	}
	reps, err := r.st.Reports(ctx, true, 10)
	if err != nil {
		t.Fatal(err)
	}
	// The store has no outbound message for it (sent around the outbox):
	// unmatched, stored and listed.
	if len(reps) != 1 || reps[0].MR != mr || reps[0].Status != 0 || reps[0].Outcome != store.OutcomeDelivered ||
		reps[0].Recipient != "+436601234567" || reps[0].Matched {
		t.Fatalf("reports %+v, want one unmatched delivered report for MR %d", reps, mr)
	}
}

// A message that misses a part is delivered as incomplete after the
// store's IncompleteAfter, with its missing part numbers; the part that
// comes later makes a message of its own (no part is dropped).
func TestExpireDeliversIncomplete(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	r := newRig(t, device.Config{}, store.Options{Now: clock, IncompleteAfter: time.Hour}, Config{})
	ctx := context.Background()
	var delivered []*store.Message
	r.sw.cfg.Hooks.Message = func(m *store.Message) { delivered = append(delivered, m) }
	// Part 2 of 3 never arrives: build the parts and deliver 1 and 3.
	from, _ := pdu.ParseAddress("+436601234567")
	_, uds, err := pdu.SplitText(strings.Repeat("abcdefghij", 40), 0x4242, true)
	if err != nil || len(uds) != 3 {
		t.Fatalf("split: %d parts, %v", len(uds), err)
	}
	for _, i := range []int{2, 0} {
		tp, err := (&pdu.Deliver{Originator: from, DCS: pdu.NewDCS(pdu.AlphabetGSM7, -1), Timestamp: now, UD: uds[i]}).Encode()
		if err != nil {
			t.Fatal(err)
		}
		r.inject(t, device.IncomingSMS{PDU: "00" + hex.EncodeToString(tp)})
	}
	if res := r.sweep(t); res.Parts != 2 || len(res.Messages) != 0 {
		t.Fatalf("sweep %+v: want two parts stored, no message yet", res)
	}
	r.sw.expire(ctx)
	if len(delivered) != 0 {
		t.Fatalf("delivered before the timeout: %+v", delivered)
	}
	now = now.Add(time.Hour + time.Second)
	r.sw.expire(ctx)
	if len(delivered) != 1 {
		t.Fatalf("after the timeout %d messages delivered, want 1", len(delivered))
	}
	m := delivered[0]
	if m.State != store.StateIncomplete || !slices.Equal(m.Missing, []int{2}) || m.PartCount != 3 ||
		m.Text != uds[0].Text+uds[2].Text || m.Options.Flash {
		t.Fatalf("incomplete message %+v", m)
	}
}
