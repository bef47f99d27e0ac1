package outbox

import (
	"strings"
	"testing"
)

func TestSamePDU(t *testing.T) {
	const p = "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
	withMR := "0011420B916407281553F80000AA0AE8329BFD4697D9EC37" // TP-MR filled in by the modem
	withSMSC := "07914346466554F6" + p[2:]                       // the SMSC shown instead of "00"
	if !samePDU(p, p) || !samePDU(p, withMR) || !samePDU(p, withSMSC) {
		t.Fatal("equal parts not recognised")
	}
	other := strings.Replace(p, "E8329B", "E8329C", 1)
	if samePDU(p, other) || samePDU(p, p[:len(p)-2]) || samePDU(p, "zz") || samePDU("", p) {
		t.Fatal("different parts taken for equal")
	}
}

// FuzzSamePDU: any pair of lines compares without panicking, and the
// comparison does not depend on the order.
func FuzzSamePDU(f *testing.F) {
	f.Add("0011000B916407281553F80000AA0AE8329BFD4697D9EC37", "0011420B916407281553F80000AA0AE8329BFD4697D9EC37")
	f.Add("00", "zz")
	f.Fuzz(func(t *testing.T, a, b string) {
		if samePDU(a, b) != samePDU(b, a) {
			t.Fatalf("samePDU not symmetric for %q, %q", a, b)
		}
	})
}
