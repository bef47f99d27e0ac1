package store

import (
	"context"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
)

var smsc = pdu.Address{Number: "+436640501", TON: pdu.TONInternational, NPI: pdu.NPIISDN}

// scts is a service centre time stamp in UTC+1, as the network sends it.
var scts = time.Date(2025, 3, 1, 13, 4, 5, 0, time.FixedZone("", 3600))

// deliverHex encodes an SMS-DELIVER as +CMGL shows it.
func deliverHex(t testing.TB, from string, dcs pdu.DCS, ud pdu.UserData) string {
	t.Helper()
	orig, err := pdu.ParseAddress(from)
	if err != nil {
		t.Fatal(err)
	}
	b, err := (&pdu.Deliver{Originator: orig, DCS: dcs, Timestamp: scts, UD: ud}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := pdu.EncodeSMSC(smsc)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(append(sc, b...))
}

// deliverParts splits text into SMS-DELIVER parts with the reference.
func deliverParts(t testing.TB, from, text string, ref uint16, ref16 bool) []string {
	t.Helper()
	alpha, uds, err := pdu.SplitText(text, ref, ref16)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ud := range uds {
		out = append(out, deliverHex(t, from, pdu.NewDCS(alpha, -1), ud))
	}
	return out
}

type inbox struct {
	t     *testing.T
	s     *Store
	modem int64
	next  int // the next storage index
}

func newInbox(t *testing.T, s *Store) *inbox {
	m, err := s.UpsertModem(context.Background(), testModem)
	if err != nil {
		t.Fatal(err)
	}
	return &inbox{t: t, s: s, modem: m}
}

// save stores the PDU at the next free index of SM.
func (in *inbox) save(pduHex string) SaveResult {
	in.t.Helper()
	in.next++
	return in.saveAt(in.next, pduHex)
}

func (in *inbox) saveAt(index int, pduHex string) SaveResult {
	in.t.Helper()
	res, err := in.s.SavePart(context.Background(), InboundPart{ModemID: in.modem, Storage: "SM", Index: index, PDUHex: pduHex})
	if err != nil {
		in.t.Fatal(err)
	}
	return res
}

func TestInboundSingleAndReReadAfterCrash(t *testing.T) {
	s := openTest(t, newClock())
	in := newInbox(t, s)
	ctx := context.Background()
	p := deliverParts(t, "+436641234567", "Grüße {Wien} €", 0, false)[0]
	res := in.saveAt(3, p)
	if !res.New || res.Message == nil {
		t.Fatalf("first read: %+v", res)
	}
	m := res.Message
	if m.Direction != In || m.State != StateReceived || m.Text != "Grüße {Wien} €" || m.Peer != "+436641234567" ||
		m.SMSC != "+436640501" || !m.SCTime.Equal(scts) || m.Read || m.ModemID != in.modem {
		t.Fatalf("message %+v", m)
	}
	if _, off := m.SCTime.Zone(); off != 3600 {
		t.Fatalf("SCTS zone %d, want 3600", off)
	}
	// A crash between the commit and AT+CMGD: the sweep reads it again.
	again := in.saveAt(3, p)
	if again.New || again.Message != nil {
		t.Fatalf("re-read: %+v", again)
	}
	// The same PDU at another index is a message of its own (a sender can
	// send the same text twice in a second).
	if other := in.saveAt(4, p); !other.New || other.Message == nil {
		t.Fatalf("same PDU at another index: %+v", other)
	}
	page, _ := s.List(ctx, Filter{Direction: In})
	if len(page.Messages) != 2 {
		t.Fatalf("%d inbound messages", len(page.Messages))
	}
}

func TestInboundFormsFlashAndData(t *testing.T) {
	s := openTest(t, nil)
	in := newInbox(t, s)
	flash := in.save(deliverHex(t, "Bank", pdu.NewDCS(pdu.AlphabetGSM7, 0), pdu.UserData{Text: "code 1234"}))
	if m := flash.Message; m == nil || !m.Options.Flash || m.Peer != "Bank" || m.Text != "code 1234" {
		t.Fatalf("flash from an alphanumeric sender: %+v", m)
	}
	data := in.save(deliverHex(t, "+436641234567", pdu.NewDCS(pdu.Alphabet8Bit, -1), pdu.UserData{Data: []byte{0, 1, 0xfe}}))
	if m := data.Message; m == nil || m.DataHex != "0001FE" || m.Text != "" || m.Options.Flash {
		t.Fatalf("8-bit data: %+v", m)
	}
	bad := in.save("0791436604051000FF")
	if m := bad.Message; !bad.New || m == nil || m.State != StateUndecodable || m.Reason == "" {
		t.Fatalf("undecodable: %+v", bad)
	}
	if again := in.saveAt(in.next, "0791436604051000ff"); again.New {
		t.Fatalf("undecodable read again: %+v", again)
	}
}

func TestReassemblyAnyOrderDuplicates(t *testing.T) {
	for _, c := range []struct {
		name  string
		text  string
		ref   uint16
		ref16 bool
	}{
		{"8-bit ref, GSM 7-bit", longText(3), 0xA7, false},
		{"16-bit ref, UCS-2 with emoji", "👋🇦🇹 Grüße – " + longText(2), 0xBEEF, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := openTest(t, nil)
			in := newInbox(t, s)
			parts := deliverParts(t, "+436641234567", c.text, c.ref, c.ref16)
			if len(parts) < 3 {
				t.Fatalf("%d parts", len(parts))
			}
			last := len(parts) - 1
			// The last part first, then the first, its re-read, and its
			// duplicate at another index; the message is complete only
			// with the missing middle ones.
			if r := in.save(parts[last]); !r.New || r.Message != nil {
				t.Fatalf("last part: %+v", r)
			}
			r := in.save(parts[0])
			if r.Message != nil {
				t.Fatal("completed early")
			}
			if r := in.saveAt(in.next, parts[0]); r.New {
				t.Fatal("re-read counted")
			}
			if r := in.save(parts[0]); !r.New || r.Message != nil {
				t.Fatalf("duplicate at another index: %+v", r)
			}
			var done *Message
			for _, p := range parts[1:last] {
				done = in.save(p).Message
			}
			if done == nil || done.Text != c.text || done.PartCount != len(parts) || done.State != StateReceived {
				t.Fatalf("reassembled %+v", done)
			}
			// The network repeats a part after the message is complete:
			// kept with it, no new group (no incomplete message later).
			if r := in.save(parts[1]); !r.New || r.Message != nil {
				t.Fatalf("duplicate after completion: %+v", r)
			}
			if st, err := s.Stats(context.Background()); err != nil || st.ReassemblyPending != 0 {
				t.Fatalf("a duplicate after completion opened a group: %+v %v", st, err)
			}
			page, _ := s.List(context.Background(), Filter{Direction: In})
			if len(page.Messages) != 1 {
				t.Fatalf("%d messages", len(page.Messages))
			}
		})
	}
}

func TestReassemblySurrogatePairAcrossParts(t *testing.T) {
	s := openTest(t, nil)
	in := newInbox(t, s)
	part := func(seq int, text string) []byte {
		ud := pdu.UserData{Header: []pdu.InformationElement{pdu.ConcatIE(pdu.Concat{Ref: 9, Total: 2, Seq: seq})}, Text: text}
		b, _ := hex.DecodeString(deliverHex(t, "+436641234567", pdu.NewDCS(pdu.AlphabetUCS2, -1), ud))
		return b
	}
	// "a👋d": the phone split U+1F44B between its surrogates.
	p1, p2 := part(1, "ab"), part(2, "cd")
	copy(p1[len(p1)-2:], []byte{0xD8, 0x3D})
	copy(p2[len(p2)-4:], []byte{0xDC, 0x4B})
	in.save(hex.EncodeToString(p1))
	m := in.save(hex.EncodeToString(p2)).Message
	if m == nil || m.Text != "a👋d" {
		t.Fatalf("%+v", m)
	}
}

func TestReassemblyReferenceReuse(t *testing.T) {
	s := openTest(t, nil)
	in := newInbox(t, s)
	from := "+436641234567"
	a := deliverParts(t, from, "A "+longText(2), 7, false)
	// Every part of B differs from A's (a part with the same bytes, time
	// stamp included, is the network repeating A's part: see
	// TestReassemblyAnyOrderDuplicates).
	bText := "B " + longText(2)[:len(longText(2))-1] + "?"
	b := deliverParts(t, from, bText, 7, false)
	// After completion, the same reference starts a new message.
	in.save(a[0])
	if m := in.save(a[1]).Message; m == nil || m.Text != "A "+longText(2) {
		t.Fatalf("first %+v", m)
	}
	in.save(b[1])
	if m := in.save(b[0]).Message; m == nil || m.Text != bText {
		t.Fatalf("reuse after completion %+v", m)
	}
	// Reused while the first is still open: a taken part number with other
	// content opens a second group.
	c := deliverParts(t, from, "C "+longText(2), 8, false)
	d := deliverParts(t, from, "D "+longText(2), 8, false)
	in.save(c[0])
	in.save(d[0])
	if m := in.save(c[1]).Message; m == nil || m.Text != "C "+longText(2) {
		t.Fatalf("C %+v", m)
	}
	if m := in.save(d[1]).Message; m == nil || m.Text != "D "+longText(2) {
		t.Fatalf("D %+v", m)
	}
}

func TestReassemblyAcrossReopen(t *testing.T) {
	path := newLocation(t)
	parts := deliverParts(t, "+436641234567", longText(3), 0x1234, true)
	ctx := context.Background()
	s1, err := openLocation(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := newInbox(t, s1)
	in.save(parts[2])
	in.save(parts[0])
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openAt(t, path, nil)
	in.s = s2
	if r := in.saveAt(1, parts[2]); r.New {
		t.Fatal("a part stored before the restart was stored again")
	}
	m := in.save(parts[1]).Message
	if m == nil || m.Text != longText(3) {
		t.Fatalf("%+v", m)
	}
}

func TestIncompleteAfterTimeout(t *testing.T) {
	c := newClock()
	s := openTest(t, c)
	in := newInbox(t, s)
	ctx := context.Background()
	text := longText(3)
	parts := deliverParts(t, "+436641234567", text, 0x55, false)
	in.save(parts[0])
	c.Add(time.Hour)
	in.save(parts[2])
	c.Add(DefaultIncompleteAfter - time.Hour - time.Second)
	if got, err := s.ExpireIncomplete(ctx); err != nil || len(got) != 0 {
		t.Fatalf("before the timeout: %v, %v", got, err)
	}
	st, _ := s.Stats(ctx)
	if st.ReassemblyPending != 1 {
		t.Fatalf("pending %d", st.ReassemblyPending)
	}
	c.Add(time.Second)
	got, err := s.ExpireIncomplete(ctx)
	if err != nil || len(got) != 1 {
		t.Fatalf("at the timeout: %v, %v", got, err)
	}
	m := got[0]
	if m.State != StateIncomplete || !slices.Equal(m.Missing, []int{2}) || m.PartCount != 3 ||
		m.Text != text[:153]+text[306:] || m.Reason != "parts 2 of 3 never arrived" {
		t.Fatalf("%+v", m)
	}
	// The late part does not reopen it; it waits as a new group.
	if r := in.save(parts[1]); !r.New || r.Message != nil {
		t.Fatalf("late part %+v", r)
	}
	st, _ = s.Stats(ctx)
	if st.ReassemblyPending != 1 || st.Messages[In][StateIncomplete] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestReadDeleteAndUnreadFilter(t *testing.T) {
	s := openTest(t, nil)
	in := newInbox(t, s)
	ctx := context.Background()
	m1 := in.save(deliverParts(t, "+436641234567", "one", 0, false)[0]).Message
	m2 := in.save(deliverParts(t, "+436649999999", "two", 0, false)[0]).Message
	if err := s.MarkRead(ctx, m1.ID, true); err != nil {
		t.Fatal(err)
	}
	page, _ := s.List(ctx, Filter{Unread: true})
	if len(page.Messages) != 1 || page.Messages[0].ID != m2.ID {
		t.Fatalf("unread %+v", page.Messages)
	}
	page, _ = s.List(ctx, Filter{From: "+436641234567"})
	if len(page.Messages) != 1 || page.Messages[0].ID != m1.ID || !page.Messages[0].Read {
		t.Fatalf("from %+v", page.Messages)
	}
	if err := s.Delete(ctx, m1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, m1.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted: %v", err)
	}
	if err := s.MarkRead(ctx, m1.ID, true); !errors.Is(err, ErrNotFound) {
		t.Fatalf("mark deleted: %v", err)
	}
	s.AcceptOutbound(ctx, outReq(t, "q", "+436601234567", "x"))
	if err := s.Delete(ctx, "q"); !errors.Is(err, ErrActive) {
		t.Fatalf("delete queued: %v", err)
	}
}

// TestSavePartStoresAnything: whatever the modem shows (here, valid parts
// with octets changed and cut at random, from a fixed seed), the part is
// stored as a message, a waiting part or an undecodable message, and
// reading it again changes nothing.
func TestSavePartStoresAnything(t *testing.T) {
	s := openTest(t, nil)
	ctx := context.Background()
	modem, err := s.UpsertModem(ctx, testModem)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	base, _ := hex.DecodeString(deliverParts(t, "+436641234567", "👋 "+longText(2), 0x77, true)[0])
	for i := range 300 {
		b := append([]byte{}, base...)
		for range 3 {
			b[rng.IntN(len(b))] = byte(rng.IntN(256))
		}
		b = b[:1+rng.IntN(len(b))]
		p := InboundPart{ModemID: modem, Storage: "ME", Index: i, PDUHex: hex.EncodeToString(b)}
		res, err := s.SavePart(ctx, p)
		if err != nil || !res.New {
			t.Fatalf("%x: %+v, %v", b, res, err)
		}
		again, err := s.SavePart(ctx, p)
		if err != nil || again.New || again.Message != nil {
			t.Fatalf("%x again: %+v, %v", b, again, err)
		}
	}
}

// FuzzDecodePart: the inbox's PDU boundary never panics, and what it keeps
// of a part gives back the decoder's own text or data. (SavePart itself is
// not fuzzed: coverage-instrumented SQLite runs a few inputs a second.)
func FuzzDecodePart(f *testing.F) {
	for _, p := range deliverParts(f, "+436641234567", "👋 "+longText(2), 0x77, true) {
		f.Add(p)
	}
	f.Add(deliverParts(f, "Bank", "hi {}", 0, false)[0])
	f.Add(deliverHex(f, "+43664", pdu.NewDCS(pdu.Alphabet8Bit, -1), pdu.UserData{Data: []byte{1, 2}}))
	f.Add("00")
	f.Add("0791436604051000FF")
	f.Fuzz(func(t *testing.T, h string) {
		d, err := decodePart(h)
		if err != nil {
			return
		}
		text, data := joinParts([]decodedPart{d})
		switch d.alphabet {
		case pdu.Alphabet8Bit:
			if data != strings.ToUpper(hex.EncodeToString(d.d.UD.Data)) || text != "" {
				t.Fatalf("8-bit: %q %q", text, data)
			}
		default:
			if text != d.d.UD.Text || data != "" {
				t.Fatalf("text %q, decoder %q", text, d.d.UD.Text)
			}
		}
	})
}
