package outbox

import (
	"context"
	"fmt"
	"testing"

	"github.com/sim-modem-api/sim-modem-api/simulator/device"
)

// BenchmarkSendOne: one single-part message through the outbox on an
// instant simulated modem (in process, on a pipe) and a real store: the
// claim, AT+CMGW, AT+CMSS and AT+CMGD with their commits. Its CPU profile
// shows where an instant modem's time goes.
func BenchmarkSendOne(b *testing.B) {
	r := newRig(b, device.Config{})
	w := r.newWorker(Config{})
	ctx := context.Background()
	r.drain(w, r.e) // identify and reconcile first
	b.ResetTimer()
	for i := range b.N {
		r.accept("", "+436601234567", fmt.Sprintf("bench %d", i), false)
		if res := w.job(ctx, r.e); res.err != nil || res.idle {
			b.Fatalf("job: %+v", res)
		}
	}
}
