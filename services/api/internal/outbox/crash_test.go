package outbox

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
	"github.com/sim-modem-api/sim-modem-api/simulator/device"
)

// TestCrashAtEveryCommand kills the worker at every AT command of sending
// three messages (one part, two GSM 7-bit parts, two UCS-2 parts), once
// before the command reaches the modem and once after the modem ran it
// with its answer lost, then lets a fresh worker (a restarted process)
// finish from the store. Every part goes out exactly once, every message
// ends sent, and no stored copy is left in the modem's memory: the
// recovery table of the package doc, case by case.
func TestCrashAtEveryCommand(t *testing.T) {
	long := strings.Repeat("exactly once, ", 13) // 2 GSM 7-bit parts
	uni := strings.Repeat("Grüße 👋 ", 9)         // 2 UCS-2 parts
	total := 0
	for _, after := range []bool{false, true} {
		for n := 1; ; n++ {
			r := newRig(t, device.Config{})
			msgs := []*store.Message{
				r.accept("one", "+436601234567", "hello", false),
				r.accept("long", "+436601234568", long, true),
				r.accept("uni", "+436601234569", uni, false),
			}
			crash := &crashAT{e: r.e, n: n, after: after}
			w := r.newWorker(Config{})
			for i := 0; i < 50 && !crash.crashed(); i++ {
				if res := w.job(context.Background(), crash); res.idle {
					break
				}
			}
			if !crash.crashed() { // the whole send took fewer commands: done
				total = n - 1
				break
			}
			r.drain(r.newWorker(Config{}), r.e)
			where := fmt.Sprintf("crash %s command %d (%s)", map[bool]string{false: "before", true: "after"}[after], n, crash.cmds[n-1])
			for id, c := range r.sendCounts(msgs) {
				for i, k := range c {
					if k != 1 {
						t.Errorf("%s: message %s part %d sent %d times", where, id, i+1, k)
					}
				}
			}
			for _, m := range msgs {
				got, err := r.st.Get(context.Background(), m.ID)
				if err != nil || got.State != store.StateSent {
					t.Errorf("%s: message %s is %s (%s), want sent", where, m.ID, got.State, got.Reason)
					continue
				}
				for _, p := range got.Parts {
					if p.StorageIndex != -1 {
						t.Errorf("%s: message %s part %d still has index %d", where, m.ID, p.Seq, p.StorageIndex)
					}
				}
			}
			if left := r.storedOutbound(); len(left) > 0 {
				t.Errorf("%s: copies left in the modem: %+v", where, left)
			}
			if t.Failed() {
				t.FailNow()
			}
		}
	}
	t.Logf("crashed at each of %d commands, before and after", total)
	if total < 20 {
		t.Fatalf("only %d commands: the send route is not the one expected", total)
	}
}
