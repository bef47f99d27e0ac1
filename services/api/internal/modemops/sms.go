package modemops

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
)

// MaxValidity is the longest relative validity period (63 weeks).
const MaxValidity = 63 * 7 * 24 * time.Hour

// MinValidity is the shortest relative validity period.
const MinValidity = 5 * time.Minute

// SMS is a request to send a text.
type SMS struct {
	To           string        // normalised: "+E.164" or a short code
	Text         string        // any Unicode
	Validity     time.Duration // 0: none
	StatusReport bool
	Flash        bool // class 0
}

// PreparedSMS is an SMS encoded into its PDUs, ready to send.
type PreparedSMS struct {
	Encoding string // "gsm7" or "ucs2"
	Ref      uint16 // concatenation reference (low 8 bits used)
	PDUs     []string
	Lengths  []int // TPDU octets of each part, for AT+CMGS=<length>
}

// Prepare validates and encodes sms without touching the modem.
func (o *Ops) Prepare(sms SMS) (*PreparedSMS, error) {
	dest, err := pdu.ParseAddress(sms.To)
	if err != nil {
		return nil, fieldErr("to", "%v", err)
	}
	if dest.TON == pdu.TONAlphanumeric {
		return nil, fieldErr("to", "an alphanumeric address cannot receive SMS")
	}
	if sms.Validity != 0 && (sms.Validity < MinValidity || sms.Validity > MaxValidity) {
		return nil, fieldErr("validity", "must be between %v and 63 weeks", MinValidity)
	}
	o.mu.Lock()
	o.ref++
	ref := o.ref
	o.mu.Unlock()
	alpha, parts, err := pdu.SplitText(sms.Text, ref, false)
	switch {
	case errors.Is(err, pdu.ErrTooManyParts):
		return nil, fieldErr("text", "too long: more than 255 SMS parts")
	case err != nil:
		return nil, fieldErr("text", "%v", err)
	}
	smsc := pdu.Address{}
	if o.cfg.SMSC != "" {
		if smsc, err = pdu.ParseAddress(o.cfg.SMSC); err != nil {
			return nil, fmt.Errorf("configured SMSC: %w", err)
		}
	}
	sca, err := pdu.EncodeSMSC(smsc)
	if err != nil {
		return nil, fmt.Errorf("configured SMSC: %w", err)
	}
	class := -1
	if sms.Flash {
		class = 0
	}
	p := &PreparedSMS{Encoding: "gsm7", Ref: ref & 0xff}
	if alpha == pdu.AlphabetUCS2 {
		p.Encoding = "ucs2"
	}
	for _, ud := range parts {
		s := pdu.Submit{
			StatusReportRequest: sms.StatusReport,
			Destination:         dest,
			DCS:                 pdu.NewDCS(alpha, class),
			Validity:            sms.Validity,
			UD:                  ud,
		}
		tpdu, err := s.Encode()
		if err != nil {
			return nil, fieldErr("text", "%v", err)
		}
		p.PDUs = append(p.PDUs, strings.ToUpper(hex.EncodeToString(append(append([]byte{}, sca...), tpdu...))))
		p.Lengths = append(p.Lengths, len(tpdu))
	}
	return p, nil
}

// Part is one sent part.
type Part struct {
	Seq       int `json:"seq"`
	Reference int `json:"reference"` // TP-MR the modem assigned (+CMGS: <mr>)
}

// SendError is a send that failed after Sent parts went out.
type SendError struct {
	Sent   []Part
	Failed int // the 1-based part that failed
	Err    error
}

func (e *SendError) Error() string {
	return fmt.Sprintf("part %d of the SMS failed after %d sent: %v", e.Failed, len(e.Sent), e.Err)
}
func (e *SendError) Unwrap() error { return e.Err }

// Send sends the parts one by one, at least Pacing apart between bodies.
// The job is never interrupted between a command and its body; if a part
// fails the rest are not sent.
// The exchanges are the transcript of the commands sent.
func (o *Ops) Send(ctx context.Context, e AT, p *PreparedSMS) ([]Part, []Exchange, error) {
	var sent []Part
	var xs []Exchange
	for i, body := range p.PDUs {
		if err := o.pace(ctx); err != nil {
			return sent, xs, &SendError{Sent: sent, Failed: i + 1, Err: err}
		}
		if strings.Contains(body, o.cfg.Sentinel) && o.cfg.Sentinel != "" {
			return sent, xs, &SendError{Sent: sent, Failed: i + 1, Err: errors.New("PDU contains the heartbeat sentinel")} // impossible for hex; kept as a guard
		}
		cmd := "+CMGS=" + strconv.Itoa(p.Lengths[i])
		x := Exchange{Command: "AT" + cmd, Body: body, StartedAt: time.Now().UTC()}
		r, err := e.SMSCommand(ctx, cmd, body, at.Timeout(o.cfg.CommandTimeout), at.BodyTimeout(o.cfg.SMSTimeout))
		o.mu.Lock()
		o.lastBody = time.Now()
		o.mu.Unlock()
		x.FinishedAt, x.Response, x.Final = time.Now().UTC(), append([]string{}, r.Lines...), FinalText(err)
		xs = append(xs, x)
		if err != nil {
			o.cfg.OnPart(FailureReason(err))
			return sent, xs, &SendError{Sent: sent, Failed: i + 1, Err: err}
		}
		mr := -1
		if v, ok := r.Value("+CMGS"); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				mr = n
			}
		}
		o.cfg.OnPart("")
		sent = append(sent, Part{Seq: i + 1, Reference: mr})
	}
	return sent, xs, nil
}

func (o *Ops) pace(ctx context.Context) error {
	o.mu.Lock()
	wait := time.Until(o.lastBody.Add(o.cfg.Pacing))
	o.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// FailureReason classifies an error for metrics.
func FailureReason(err error) string {
	var cms *at.CMSError
	var cme *at.CMEError
	switch {
	case errors.As(err, &cms):
		return "cms_" + strconv.Itoa(cms.Code)
	case errors.As(err, &cme):
		return "cme_" + strconv.Itoa(cme.Code)
	case errors.Is(err, at.ErrDeadlineExceeded), errors.Is(err, at.ErrOutOfSync):
		return "timeout"
	case errors.Is(err, at.ErrPrompt):
		return "no_prompt"
	case errors.Is(err, at.ErrError):
		return "error"
	case errors.Is(err, at.ErrClosed), errors.Is(err, context.Canceled):
		return "unavailable"
	}
	return "other"
}
