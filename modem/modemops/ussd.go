package modemops

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/charset"
)

// ErrUSSDTimeout: the network did not answer the USSD request in time.
var ErrUSSDTimeout = errors.New("no USSD answer from the network in time")

// USSDResult is the network's answer.
type USSDResult struct {
	Status     int    `json:"status"`     // +CUSD <m>: 0 done, 1 further action required, 2 terminated, 4 not supported, 5 timed out
	StatusText string `json:"statusText"` //
	Text       string `json:"text"`
	DCS        int    `json:"dcs"`
}

var ussdStatus = map[int]string{
	0: "done", 1: "further_action_required", 2: "terminated_by_network",
	3: "answered_by_other_client", 4: "not_supported", 5: "network_timeout",
}

// ValidUSSD checks a USSD string: digits, * and #, 1 to 160 characters.
func ValidUSSD(code string) error {
	if len(code) == 0 || len(code) > 160 {
		return fieldErr("code", "must have 1 to 160 characters")
	}
	for _, r := range code {
		if !(r >= '0' && r <= '9') && r != '*' && r != '#' && r != '+' {
			return fieldErr("code", "may contain only digits, *, # and +, e.g. *100#")
		}
	}
	return nil
}

// HandleURC takes +CUSD URCs for a waiting USSD request; it reports
// whether it consumed u. A USSD text with line breaks (a menu) reaches the
// engine as several lines: the +CUSD line with an open quote and then
// lines that belong to no command, up to the one that closes the quote;
// HandleURC joins them (it must therefore also see unnamed lines).
func (o *Ops) HandleURC(u at.URC) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ussd == nil {
		return false
	}
	switch {
	case u.Name == "+CUSD":
		v := u.Value()
		if strings.Count(v, `"`) == 1 {
			o.ussdPart = v
			o.ussdOpen = true
			return true
		}
		o.deliverUSSD(v)
		return true
	case u.Name == "" && o.ussdOpen:
		o.ussdPart += "\n" + u.Line
		if strings.Contains(u.Line, `"`) {
			o.ussdOpen = false
			o.deliverUSSD(o.ussdPart)
		}
		return true
	}
	return false
}

func (o *Ops) deliverUSSD(v string) {
	select {
	case o.ussd <- v:
	default:
	}
}

// USSD sends code and waits for the network's answer (+CUSD URC).
func (o *Ops) USSD(ctx context.Context, e AT, code string) (USSDResult, error) {
	if err := ValidUSSD(code); err != nil {
		return USSDResult{}, err
	}
	ch := make(chan string, 1)
	o.mu.Lock()
	o.ussd, o.ussdOpen, o.ussdPart = ch, false, ""
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		o.ussd, o.ussdOpen, o.ussdPart = nil, false, ""
		o.mu.Unlock()
	}()
	if _, err := o.cmd(ctx, e, `+CUSD=1,"`+code+`",15`); err != nil {
		return USSDResult{}, err
	}
	t := time.NewTimer(o.cfg.USSDTimeout)
	defer t.Stop()
	select {
	case v := <-ch:
		return ParseCUSD(v)
	case <-t.C:
		// Cancel the session so that a late answer does not linger.
		_, _ = o.cmd(ctx, e, "+CUSD=2")
		return USSDResult{}, ErrUSSDTimeout
	case <-ctx.Done():
		return USSDResult{}, ctx.Err()
	}
}

// ParseCUSD decodes `<m>[,"<str>",<dcs>]`. The text is decoded per its DCS;
// the ZTE quirk — UCS-2 hex although the DCS says GSM 7-bit — is detected
// with charset.LooksLikeUCS2Hex.
func ParseCUSD(v string) (USSDResult, error) {
	f := splitFields(v)
	m, err := strconv.Atoi(f[0])
	if err != nil {
		return USSDResult{}, fmt.Errorf("malformed +CUSD %q", v)
	}
	r := USSDResult{Status: m, StatusText: ussdStatus[m], DCS: 15}
	if len(f) >= 3 {
		if d, err := strconv.Atoi(f[2]); err == nil {
			r.DCS = d
		}
	}
	if len(f) >= 2 {
		s := f[1]
		ucs2 := r.DCS&0xF0 == 0x40 && r.DCS&0x0C == 0x08 || r.DCS == 0x48 || r.DCS == 0x11
		if ucs2 || charset.LooksLikeUCS2Hex(s) {
			if t, err := charset.Decode(charset.UCS2, s); err == nil {
				r.Text = t
				return r, nil
			}
		}
		if t, err := charset.Decode(charset.GSM, s); err == nil {
			r.Text = t
		} else {
			r.Text = s
		}
	}
	return r, nil
}
