package modemops

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
	"github.com/sim-modem-api/sim-modem-api/modem/relayconn"
)

// MaxValidity is the longest relative validity period (63 weeks).
const MaxValidity = 63 * 7 * 24 * time.Hour

// MinValidity is the shortest relative validity period.
const MinValidity = 5 * time.Minute

// MaxParts is the most parts a concatenated SMS can have: the 8-bit part
// count of the concatenation header (3GPP TS 23.040 §9.2.3.24.1).
const MaxParts = 255

// DefaultMaxParts is the default limit of parts per message: 10 parts
// take about 35 s at the default pacing of 3.5 s.
const DefaultMaxParts = 10

// SMS is a request to send a text.
type SMS struct {
	To           string        // normalised: "+E.164" or a short code
	Text         string        // any Unicode
	Data         []byte        // 8-bit data instead of Text when not nil
	Validity     time.Duration // 0: none
	StatusReport bool
	Flash        bool // class 0
}

// PreparedSMS is an SMS encoded into its PDUs, ready to be stored and
// sent by the outbox.
type PreparedSMS struct {
	ID       string   // the message's id, for logs and answers; set by the caller
	Encoding string   // "gsm7", "ucs2" or "8bit"
	Ref      uint16   // concatenation reference (low 8 bits used)
	PDUs     []string // per part the SMSC part and the TPDU, in hex
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
	field := "text"
	var alpha pdu.Alphabet
	var parts []pdu.UserData
	if sms.Data != nil {
		field, alpha = "dataHex", pdu.Alphabet8Bit
		parts, err = pdu.SplitData(sms.Data, ref, false)
	} else {
		alpha, parts, err = pdu.SplitText(sms.Text, ref, false)
	}
	switch {
	case errors.Is(err, pdu.ErrTooManyParts):
		return nil, &FieldError{Field: field, Message: fmt.Sprintf("too long: more than %d SMS parts (the most a concatenated SMS can have)", MaxParts), Limit: MaxParts}
	case err != nil:
		return nil, fieldErr(field, "%v", err)
	case len(parts) > o.cfg.MaxParts:
		return nil, &FieldError{Field: field, Limit: o.cfg.MaxParts,
			Message: fmt.Sprintf("too long: %d SMS parts, at most %d per message (API_MAX_PARTS)", len(parts), o.cfg.MaxParts)}
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
	switch alpha {
	case pdu.AlphabetUCS2:
		p.Encoding = "ucs2"
	case pdu.Alphabet8Bit:
		p.Encoding = "8bit"
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
			return nil, fieldErr(field, "%v", err)
		}
		p.PDUs = append(p.PDUs, strings.ToUpper(hex.EncodeToString(append(append([]byte{}, sca...), tpdu...))))
	}
	return p, nil
}

// PartState is what is known about one part of a message, in the shape of
// the synchronous send answers (/v1/sms, /sms); the outbox's stored part
// states map onto it.
type PartState string

// The states of a part.
const (
	// PartSent: the SMSC accepted it (+CMSS: <mr>, or found STO SENT).
	PartSent PartState = "sent"
	// PartFailed: refused for good (e.g. +CMS ERROR): it did not go out.
	PartFailed PartState = "failed"
	// PartUnknown: its submission was in flight when the api was killed
	// and its stored copy is gone: the modem may have sent it. Retrying
	// may deliver it twice.
	PartUnknown PartState = "unknown"
	// PartPending: not sent yet; the outbox is still working on it.
	PartPending PartState = "pending"
	// PartNotAttempted: not attempted because an earlier part failed or
	// its outcome is unknown.
	PartNotAttempted PartState = "not_attempted"
)

// Part is the state of one part of a message.
type Part struct {
	Seq       int       `json:"seq"`
	State     PartState `json:"state"`
	Reference int       `json:"reference"` // TP-MR the modem assigned (+CMSS: <mr>); only for sent parts, -1 if unknown
}

// MarshalJSON leaves out the reference of a part that was not sent.
func (p Part) MarshalJSON() ([]byte, error) {
	if p.State == PartSent {
		type plain Part
		return json.Marshal(plain(p))
	}
	return json.Marshal(struct {
		Seq   int       `json:"seq"`
		State PartState `json:"state"`
	}{p.Seq, p.State})
}

// SentParts returns the parts in state sent.
func SentParts(parts []Part) []Part {
	var out []Part
	for _, p := range parts {
		if p.State == PartSent {
			out = append(out, p)
		}
	}
	return out
}

// FailureReason classifies an error for metrics and retries: a modem
// error code, a timeout, no prompt, a bare ERROR, "unavailable" (the
// session closed, or there is none: relayconn.ErrUnavailable), or other.
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
	case errors.Is(err, at.ErrClosed), errors.Is(err, context.Canceled), errors.Is(err, relayconn.ErrUnavailable):
		return "unavailable"
	}
	return "other"
}
