package store

import (
	"context"
	"slices"
	"testing"
)

func TestValidModemName(t *testing.T) {
	for _, ok := range []string{"modem", "a", "at-1", "de_2", "0"} {
		if !ValidModemName(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", "-a", "_a", "A", "a b", "a/b", "a,b", "ä", "abcdefghijabcdefghijabcdefghijabc"} {
		if ValidModemName(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A route admits whole ids only, and a message without one goes to any
// modem; the modem's name is recorded with the SIM and shown on the
// messages bound to it.
func TestRouteAdmitsWholeIDs(t *testing.T) {
	s := openTest(t, nil)
	ctx := context.Background()
	at := testModem
	at.Name = "at"
	atID, err := s.UpsertModem(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	de := ModemIdentity{IMSI: "262011234567890", ICCID: "8949011234567890123", IMEI: "861234567890124", Name: "at2"}
	deID, _ := s.UpsertModem(ctx, de)

	viaAT2 := outReq(t, "via-at2", "+491701234567", "hallo")
	viaAT2.Route = []string{"at2"}
	if _, _, err := s.AcceptOutbound(ctx, viaAT2); err != nil {
		t.Fatal(err)
	}
	if m, _, _ := s.ClaimNext(ctx, atID, "at"); m != nil {
		t.Fatalf("modem at claimed %s, routed to at2 only", m.ID)
	}
	m, _, err := s.ClaimNext(ctx, deID, "at2")
	if err != nil || m == nil || m.ID != "via-at2" || m.Modem != "at2" || !slices.Equal(m.Route, []string{"at2"}) {
		t.Fatalf("at2 claim: %+v, %v", m, err)
	}
	s.AcceptOutbound(ctx, outReq(t, "any", "+436601234567", "x"))
	if m, _, _ := s.ClaimNext(ctx, atID, "at"); m == nil || m.ID != "any" || m.Modem != "at" || m.Route != nil {
		t.Fatalf("unrouted message: %+v", m)
	}
	// The SIM moves to another entry: same row, new name.
	at.Name = "moved"
	if id, _ := s.UpsertModem(ctx, at); id != atID {
		t.Fatalf("moved SIM got row %d, want %d", id, atID)
	}
	if got, _ := s.Get(ctx, "any"); got.Modem != "moved" {
		t.Fatalf("message of the moved SIM names %q", got.Modem)
	}
	bad := outReq(t, "bad", "+436601234567", "x")
	bad.Route = []string{"No"}
	if _, _, err := s.AcceptOutbound(ctx, bad); err == nil {
		t.Fatal("a route with an invalid id was accepted")
	}
}

// Release returns a message to the queue only while none of its parts may
// have reached the network, and forgets the copies in the old modem.
func TestReleaseOnlyBeforeSubmission(t *testing.T) {
	s := openTest(t, nil)
	ctx := context.Background()
	a := testModem
	a.Name = "a"
	aID, _ := s.UpsertModem(ctx, a)
	bIdent := ModemIdentity{IMSI: "262011234567890", ICCID: "8949011234567890123", IMEI: "861234567890124", Name: "b"}
	bID, _ := s.UpsertModem(ctx, bIdent)

	two := outReq(t, "written", "+436601234567", longText(2))
	s.AcceptOutbound(ctx, two)
	s.AcceptOutbound(ctx, outReq(t, "submitting", "+436601234567", "y"))

	m, _, _ := s.ClaimNext(ctx, aID, "a")
	if m.ID != "written" {
		t.Fatalf("claimed %s", m.ID)
	}
	s.PartWriting(ctx, "written", 1)
	s.PartWritten(ctx, "written", 1, 7)
	ids, err := s.Release(ctx, "a", "modem a went away")
	if err != nil || !slices.Equal(ids, []string{"written"}) {
		t.Fatalf("release: %v, %v", ids, err)
	}
	got, _ := s.Get(ctx, "written")
	if got.State != StateQueued || got.ModemID != 0 || got.Parts[0].State != PartQueued || got.Parts[0].StorageIndex != -1 {
		t.Fatalf("released message: %+v", got)
	}
	if copies, _ := s.ModemCopies(ctx, aID); len(copies) != 0 {
		t.Fatalf("modem a still owns copies %+v", copies)
	}
	// b takes it over and sends it; a's next message reaches submitting
	// and is never released.
	if m, _, _ := s.ClaimNext(ctx, bID, "b"); m == nil || m.ID != "written" {
		t.Fatalf("b claimed %+v", m)
	}
	if m, _, _ := s.ClaimNext(ctx, aID, "a"); m == nil || m.ID != "submitting" {
		t.Fatalf("a claimed %+v", m)
	}
	s.PartWriting(ctx, "submitting", 1)
	s.PartWritten(ctx, "submitting", 1, 3)
	s.PartSubmitting(ctx, "submitting", 1)
	if ids, err := s.Release(ctx, "a", "gone"); err != nil || len(ids) != 0 {
		t.Fatalf("released a submitting message: %v, %v", ids, err)
	}
	if n, _ := s.ModemDepth(ctx, "a"); n != 1 {
		t.Fatalf("depth of a = %d, want 1", n)
	}
	if n, _ := s.ModemDepth(ctx, "b"); n != 1 {
		t.Fatalf("depth of b = %d, want 1", n)
	}
}
