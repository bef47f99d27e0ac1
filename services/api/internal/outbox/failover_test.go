package outbox

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/modemid"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
	"github.com/sim-modem-api/sim-modem-api/simulator/device"
)

// secondModem is another simulated stick with another SIM on its own
// engine, sharing the rig's store under the configured id name.
func (r *rig) secondModem(name string) (*device.Device, *at.Engine, *modemid.Tracker) {
	r.t.Helper()
	d, err := device.New(device.Config{IMSI: "262011234567890", ICCID: "8949011234567890123", IMEI: "861234567890124"})
	if err != nil {
		r.t.Fatal(err)
	}
	a, b := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { _ = d.Serve(ctx, b); close(served) }()
	e := at.New(ctx, a)
	r.t.Cleanup(func() {
		cancel()
		e.Close()
		b.Close()
		<-served
	})
	ops := modemops.New(modemops.Config{Logger: quiet})
	if err := ops.Init(ctx, e); err != nil {
		r.t.Fatal(err)
	}
	return d, e, modemid.New(r.st, ops, name)
}

// A modem that stops being eligible with a message whose first part it
// had written (not submitted) returns it to the queue; the other modem
// sends it, once; the first deletes its orphaned copy unsent when it
// reconciles. A message with a part that may have gone out stays.
func TestFailoverReleasesUnsubmittedMessage(t *testing.T) {
	r := newRig(t, device.Config{})
	ctx := context.Background()
	ineligible := "not registered (searching)"
	wA := r.newWorker(Config{Failover: true, Eligible: func() string { return ineligible }})
	dB, eB, trB := r.secondModem("b")
	wB := New(Config{Store: r.st, Modem: trB, Logger: quiet, Failover: true, Eligible: func() string { return "" }})

	m := r.accept("", "+436601234567", longText(2), false)
	idA, err := wA.cfg.Modem.Current(ctx, r.e)
	if err != nil {
		t.Fatal(err)
	}
	// Modem A claimed it and wrote part 1 (as a worker interrupted
	// between AT+CMGW and AT+CMSS leaves it).
	if got, _, err := r.st.ClaimNext(ctx, idA, "modem"); err != nil || got.ID != m.ID {
		t.Fatalf("claim by A: %+v %v", got, err)
	}
	mem := &memory{e: r.e, commandTimeout: at.Timeout(at.DefaultTimeout), bodyTimeout: at.BodyTimeout(at.DefaultTimeout), record: func(modemops.Exchange) {}}
	if _, err := r.st.PartWriting(ctx, m.ID, 1); err != nil {
		t.Fatal(err)
	}
	idx, err := mem.write(ctx, m.Parts[0].PDUHex)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.st.PartWritten(ctx, m.ID, 1, idx); err != nil {
		t.Fatal(err)
	}

	// A is not eligible: its job releases the message and sends nothing.
	if res := wA.job(ctx, r.e); !res.idle || res.err != nil {
		t.Fatalf("ineligible job: %+v", res)
	}
	if got, _ := r.st.Get(ctx, m.ID); got.State != store.StateQueued || got.ModemID != 0 {
		t.Fatalf("after release: %s on %d", got.State, got.ModemID)
	}
	r.drain(wB, eB)
	if sent := dB.Sent(); len(sent) != 1 || sent[0].Text != longText(2) || len(sent[0].Parts) != 2 {
		t.Fatalf("B sent %+v", sent)
	}
	got, _ := r.st.Get(ctx, m.ID)
	if got.State != store.StateSent || got.Modem != "b" {
		t.Fatalf("message %s on %q", got.State, got.Modem)
	}
	// A is eligible again: it reconciles, deletes its orphaned copy unsent.
	ineligible = ""
	wA.Reconnected()
	r.drain(wA, r.e)
	if sent := r.d.Sent(); len(sent) != 0 {
		t.Fatalf("A sent %+v", sent)
	}
	if left := r.storedOutbound(); len(left) != 0 {
		t.Fatalf("left in A's memory: %+v", left)
	}
}

// Each modem writes the parts with its own SMSC, whatever the message
// was encoded with at accept.
func TestPartsGoOutWithTheModemsSMSC(t *testing.T) {
	r := newRig(t, device.Config{})
	w := r.newWorker(Config{SMSC: "+436640501"})
	if w.withSCA("0001000B916306214365F7000003C8F40F")[:14] != "069134660405F1" {
		t.Fatalf("SCA: %s", w.withSCA("0001000B916306214365F7000003C8F40F"))
	}
	r.accept("", "+436601234567", "via my SMSC", false)
	r.drain(w, r.e)
	if sent := r.d.Sent(); len(sent) != 1 || sent[0].Text != "via my SMSC" {
		t.Fatalf("sent %+v", sent)
	}
	var bodies []string
	for _, x := range r.d.Transcript() {
		if strings.HasPrefix(x.Command, "AT+CMGW=") {
			bodies = append(bodies, x.Body)
		}
	}
	if len(bodies) != 1 || !strings.HasPrefix(bodies[0], "069134660405F1") {
		t.Fatalf("AT+CMGW bodies %q: not with the modem's SMSC", bodies)
	}
	if New(Config{SMSC: "", Store: r.st}).withSCA("069134660405F101") != "0001" {
		t.Fatal("an empty SMSC is not the SIM's (00)")
	}
}

// longText needs n GSM 7-bit parts.
func longText(n int) string { return strings.Repeat("failover ", 17*(n-1)+1) }
