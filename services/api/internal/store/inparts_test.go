package store

import (
	"context"
	"strings"
	"testing"

	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
)

func TestReceivedParts(t *testing.T) {
	s := openTest(t, nil)
	in := newInbox(t, s)
	parts := deliverParts(t, "+436641234567", "👋 "+longText(2), 0x1234, true)
	if len(parts) < 2 {
		t.Fatalf("%d parts", len(parts))
	}
	var msg *Message
	for i := len(parts) - 1; i >= 0; i-- {
		msg = in.save(parts[i]).Message
	}
	single := in.save(deliverHex(t, "Bank", pdu.NewDCS(pdu.AlphabetGSM7, -1), pdu.UserData{Text: "hi"})).Message
	if msg == nil || single == nil {
		t.Fatal("messages not complete")
	}
	got, err := s.ReceivedParts(context.Background(), msg.ID, single.ID, "unknown")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(got[msg.ID]) != len(parts) || len(got[single.ID]) != 1 {
		t.Fatalf("parts %+v", got)
	}
	for i, p := range got[msg.ID] {
		if p.Seq != i+1 || p.Alphabet != pdu.AlphabetUCS2 || p.Storage != "SM" || !strings.EqualFold(p.PDUHex, parts[i]) || p.ReceivedAt.IsZero() {
			t.Errorf("part %d: %+v", i, p)
		}
	}
	if p := got[single.ID][0]; p.Seq != 0 || p.Alphabet != pdu.AlphabetGSM7 {
		t.Errorf("single part %+v", p)
	}
}
