package outbox

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
	"github.com/sim-modem-api/sim-modem-api/simulator/device"
)

// runWorker runs w with the rig's scheduler until the test ends.
func runWorker(t *testing.T, w *Worker) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func waitFinal(t *testing.T, w *Worker, id string) *store.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	o, err := w.Wait(ctx, id)
	if err != nil {
		t.Fatalf("waiting for %s: %v", id, err)
	}
	return o.Message
}

func TestRunSendsKickedMessagesInOrder(t *testing.T) {
	r := newRig(t, device.Config{})
	var mu sync.Mutex
	parts := map[string]int{}
	w := r.newWorker(Config{Sched: r.newScheduler(), OnPart: func(s, _ string) { mu.Lock(); parts[s]++; mu.Unlock() }})
	runWorker(t, w)
	a := r.accept("", "+436601234567", "first", false)
	b := r.accept("", "+436601234567", strings.Repeat("second ", 30), false)
	w.Kick()
	if m := waitFinal(t, w, b.ID); m.State != store.StateSent {
		t.Fatalf("b: %s %s", m.State, m.Reason)
	}
	o, err := w.Wait(context.Background(), a.ID)
	m, xs := o.Message, o.Exchanges
	if err != nil || m.State != store.StateSent || len(xs) != 3 || !strings.HasPrefix(xs[0].Command, "AT+CMGW=") ||
		!strings.HasPrefix(xs[1].Command, "AT+CMSS=") || !strings.HasPrefix(xs[2].Command, "AT+CMGD=") {
		t.Fatalf("a: %+v %+v %v", m, xs, err)
	}
	sent := r.d.Sent()
	if len(sent) != 2 || sent[0].Text != "first" || len(sent[1].Parts) != 2 {
		t.Fatalf("sent %+v", sent)
	}
	if got, _ := r.st.Get(context.Background(), a.ID); got.Parts[0].MR != sent[0].Parts[0].MR {
		t.Fatalf("TP-MR %d, the modem's %d", got.Parts[0].MR, sent[0].Parts[0].MR)
	}
	mu.Lock()
	defer mu.Unlock()
	if parts["sent"] != 3 {
		t.Fatalf("part outcomes %v", parts)
	}
	if left := r.storedOutbound(); len(left) != 0 {
		t.Fatalf("left in the modem: %+v", left)
	}
}

func TestPermanentFailureIsNotRetried(t *testing.T) {
	r := newRig(t, device.Config{NoSMSC: true}) // +CMS ERROR: 330, SMSC address unknown
	var mu sync.Mutex
	var retries int
	w := r.newWorker(Config{Sched: r.newScheduler(), OnRetry: func(string) { mu.Lock(); retries++; mu.Unlock() }})
	runWorker(t, w)
	m := r.accept("", "+436601234567", "hello", false)
	w.Kick()
	got := waitFinal(t, w, m.ID)
	if got.State != store.StateFailed || !strings.Contains(got.Reason, "330") || got.Parts[0].Attempts != 1 {
		t.Fatalf("%s %q attempts %d", got.State, got.Reason, got.Parts[0].Attempts)
	}
	o, _ := w.Wait(context.Background(), m.ID)
	if code, ok := at.CMSCode(o.Cause); !ok || code != 330 {
		t.Fatalf("cause %v", o.Cause)
	}
	mu.Lock()
	defer mu.Unlock()
	if retries != 0 || len(r.d.Sent()) != 0 {
		t.Fatalf("retries %d, sent %+v", retries, r.d.Sent())
	}
	if left := r.storedOutbound(); len(left) != 0 {
		t.Fatalf("left in the modem: %+v", left)
	}
}

func TestNotRegisteredRetriesThenSends(t *testing.T) {
	r := newRig(t, device.Config{})
	n := r.d.Network()
	n.Reg = 2 // searching: +CMS ERROR: 331
	if err := r.d.SetNetwork(n); err != nil {
		t.Fatal(err)
	}
	retried := make(chan string, 100)
	w := r.newWorker(Config{Sched: r.newScheduler(), OnRetry: func(s string) { retried <- s }})
	runWorker(t, w)
	m := r.accept("", "+436601234567", "hello", false)
	w.Kick()
	if reason := <-retried; reason != "cms_331" {
		t.Fatalf("retry reason %q", reason)
	}
	n.Reg = 1
	if err := r.d.SetNetwork(n); err != nil {
		t.Fatal(err)
	}
	got := waitFinal(t, w, m.ID)
	if got.State != store.StateSent || got.Parts[0].Attempts < 2 || len(r.d.Sent()) != 1 {
		t.Fatalf("%s %q attempts %d, sent %d", got.State, got.Reason, got.Parts[0].Attempts, len(r.d.Sent()))
	}
}

func TestFullMemoryRetriesUntilFreed(t *testing.T) {
	r := newRig(t, device.Config{SMCapacity: 1})
	if _, err := r.d.InjectSMS(device.IncomingSMS{From: "+436609999999", Text: "fills the SIM"}); err != nil {
		t.Fatal(err)
	}
	retried := make(chan string, 100)
	w := r.newWorker(Config{Sched: r.newScheduler(), OnRetry: func(s string) { retried <- s }})
	runWorker(t, w)
	m := r.accept("", "+436601234567", "hello", false)
	w.Kick()
	if reason := <-retried; reason != "cms_322" {
		t.Fatalf("retry reason %q", reason)
	}
	// The inbox sweep frees the slot (here: the test deletes it).
	if _, err := r.e.Command(context.Background(), "+CMGD=0"); err != nil {
		t.Fatal(err)
	}
	if got := waitFinal(t, w, m.ID); got.State != store.StateSent || len(r.d.Sent()) != 1 {
		t.Fatalf("%s %q", got.State, got.Reason)
	}
}

func TestGiveUpAfterMaxAge(t *testing.T) {
	r := newRig(t, device.Config{})
	n := r.d.Network()
	n.Reg = 0
	if err := r.d.SetNetwork(n); err != nil {
		t.Fatal(err)
	}
	w := r.newWorker(Config{Sched: r.newScheduler(), RetryMaxAge: time.Nanosecond})
	runWorker(t, w)
	m := r.accept("", "+436601234567", "hello", false)
	w.Kick()
	got := waitFinal(t, w, m.ID)
	if got.State != store.StateFailed || !strings.Contains(got.Reason, "API_RETRY_MAX_AGE") {
		t.Fatalf("%s %q", got.State, got.Reason)
	}
	if left := r.storedOutbound(); len(left) != 0 {
		t.Fatalf("left in the modem: %+v", left)
	}
}

// A stored outbound copy the store does not know (another client's, or a
// duplicate write) is deleted at reconcile, never sent.
func TestUnknownCopiesAreDeletedUnsent(t *testing.T) {
	r := newRig(t, device.Config{})
	m := r.accept("", "+436601234567", "mine", false)
	foreign := r.accept("", "+436601234568", "not the store's", false)
	// Write the foreign copy behind the store's back, twice, and forget it.
	for range 2 {
		if _, err := r.e.SMSCommand(context.Background(), "+CMGW="+itoa(tpduLen(t, foreign.Parts[0].PDUHex)), foreign.Parts[0].PDUHex); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.st.Cancel(context.Background(), foreign.ID); err != nil {
		t.Fatal(err)
	}
	r.drain(r.newWorker(Config{}), r.e)
	sent := r.d.Sent()
	if len(sent) != 1 || sent[0].Text != "mine" {
		t.Fatalf("sent %+v", sent)
	}
	if got, _ := r.st.Get(context.Background(), m.ID); got.State != store.StateSent {
		t.Fatalf("%s", got.State)
	}
	if left := r.storedOutbound(); len(left) != 0 {
		t.Fatalf("left in the modem: %+v", left)
	}
}

// A part found submitting whose copy is gone cannot be resolved: it is
// never submitted again and the message fails with "outcome unknown".
func TestSubmittingWithoutCopyIsUnknown(t *testing.T) {
	r := newRig(t, device.Config{})
	m := r.accept("", "+436601234567", "hello", false)
	crash := &crashAT{e: r.e, n: 11} // 7 identity, 2 CMGL, CMGW, then crash before CMSS runs
	w := r.newWorker(Config{})
	for !crash.crashed() {
		w.job(context.Background(), crash)
	}
	if !strings.HasPrefix(crash.cmds[10], "+CMSS") {
		t.Fatalf("crashed at %q", crash.cmds[10])
	}
	ctx := context.Background()
	if _, err := r.e.Command(ctx, "+CMGD=0"); err != nil { // someone deleted the copy
		t.Fatal(err)
	}
	r.drain(r.newWorker(Config{}), r.e)
	got, _ := r.st.Get(ctx, m.ID)
	if got.State != store.StateFailed || got.Parts[0].State != store.PartUnknown || !strings.Contains(got.Reason, "outcome unknown") {
		t.Fatalf("%s %s %q", got.State, got.Parts[0].State, got.Reason)
	}
	if len(r.d.Sent()) != 0 {
		t.Fatalf("sent %+v", r.d.Sent())
	}
}
