package modemops

import (
	"context"
	"fmt"

	"github.com/sim-modem-api/sim-modem-api/modem/phone"
)

// ValidPIN checks a PIN (4–8 digits) and, if given, a PUK (8 digits).
func ValidPIN(pin, puk string) error {
	if !phone.Digits(pin, 4, 8) {
		return fieldErr("pin", "must be 4 to 8 digits")
	}
	if puk != "" && !phone.Digits(puk, 8, 8) {
		return fieldErr("puk", "must be 8 digits")
	}
	return nil
}

// EnterPIN unlocks the SIM with its PIN, or with the PUK and a new PIN, and
// then repeats the SIM-dependent settings of the init sequence. It returns
// the SIM state afterwards.
func (o *Ops) EnterPIN(ctx context.Context, e AT, pin, puk string) (string, error) {
	if err := ValidPIN(pin, puk); err != nil {
		return "", err
	}
	c := fmt.Sprintf(`+CPIN="%s"`, pin)
	if puk != "" {
		c = fmt.Sprintf(`+CPIN="%s","%s"`, puk, pin)
	}
	if _, err := o.cmd(ctx, e, c); err != nil {
		return "", err
	}
	if err := o.initSIM(ctx, e); err != nil {
		return "", err
	}
	r, err := o.cmd(ctx, e, "+CPIN?")
	if err != nil {
		return "unknown", nil
	}
	v, _ := r.Value("+CPIN")
	return simState(v), nil
}
