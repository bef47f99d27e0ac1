package store

import (
	"context"
	"errors"
	"testing"
)

// TestWritingCopiesAndRemoval walks a part through the write-in-progress
// marker, a refused write, and the deletion of the last part's copy after
// the message became sent; ModemCopies lists what may be in the modem.
func TestWritingCopiesAndRemoval(t *testing.T) {
	s := openTest(t, newClock())
	ctx := context.Background()
	modem, _ := s.UpsertModem(ctx, testModem)
	m, _, err := s.AcceptOutbound(ctx, outReq(t, "two", "+436601234567", longText(2)))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ClaimNext(ctx, modem, ""); err != nil {
		t.Fatal(err)
	}
	st, err := s.PartWriting(ctx, m.ID, 1)
	mustState(t, st, err, StateSending)
	if _, err := s.PartWriting(ctx, m.ID, 1); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("writing twice: %v", err)
	}
	copies, err := s.ModemCopies(ctx, modem)
	if err != nil || len(copies) != 1 || copies[0].State != PartWriting || copies[0].StorageIndex != -1 || copies[0].PDUHex == "" {
		t.Fatalf("copies while writing: %+v %v", copies, err)
	}
	// The write was refused (memory full): back to queued, no copy.
	st, err = s.PartRetry(ctx, m.ID, 1, "+CMS ERROR: 322")
	mustState(t, st, err, StateSending)
	if copies, _ := s.ModemCopies(ctx, modem); len(copies) != 0 {
		t.Fatalf("copies after a refused write: %+v", copies)
	}
	for seq := 1; seq <= 2; seq++ {
		if _, err := s.PartWriting(ctx, m.ID, seq); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PartWritten(ctx, m.ID, seq, 4+seq); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PartSubmitting(ctx, m.ID, seq); err != nil {
			t.Fatal(err)
		}
		st, err := s.PartSent(ctx, m.ID, seq, 10+seq)
		want := StateSending
		if seq == 2 {
			want = StateSent
		}
		mustState(t, st, err, want)
	}
	copies, err = s.ModemCopies(ctx, modem)
	if err != nil || len(copies) != 2 || copies[1].StorageIndex != 6 || copies[1].MessageState != StateSent {
		t.Fatalf("copies after sending: %+v %v", copies, err)
	}
	// Both copies are deleted after the message is sent.
	for seq := 1; seq <= 2; seq++ {
		st, err := s.PartRemoved(ctx, m.ID, seq)
		mustState(t, st, err, StateSent)
	}
	if _, err := s.PartRemoved(ctx, m.ID, 2); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("removed twice: %v", err)
	}
	if copies, _ := s.ModemCopies(ctx, modem); len(copies) != 0 {
		t.Fatalf("copies after removal: %+v", copies)
	}
	got, _ := s.Get(ctx, m.ID)
	if got.State != StateSent || got.Parts[0].StorageIndex != -1 || got.Parts[1].MR != 12 {
		t.Fatalf("message %+v", got)
	}
}
