package modemops

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
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

// PreparedSMS is an SMS encoded into its PDUs, ready to send.
type PreparedSMS struct {
	ID       string // the message's id, for logs and answers; set by the caller
	Encoding string // "gsm7", "ucs2" or "8bit"
	Ref      uint16 // concatenation reference (low 8 bits used)
	PDUs     []string
	Lengths  []int // TPDU octets of each part, for AT+CMGS=<length>

	mu    sync.Mutex
	parts []Part // the parts' states while sending; nil before
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
		p.Lengths = append(p.Lengths, len(tpdu))
	}
	return p, nil
}

// PartState is what is known about one part of a message.
type PartState string

// The states of a part.
const (
	// PartSent: the modem answered +CMGS: <mr>.
	PartSent PartState = "sent"
	// PartFailed: refused before its body was written (no prompt, an
	// error instead of the prompt, no modem) or answered with an error
	// final result code (+CMS ERROR): it did not go out.
	PartFailed PartState = "failed"
	// PartUnknown: its body went to the modem but no final result code
	// came (connection lost, SMS timeout, shutdown): the modem may have
	// sent it. Retrying may deliver it twice.
	PartUnknown PartState = "unknown"
	// PartPending: not attempted yet; the job is still running.
	PartPending PartState = "pending"
	// PartNotAttempted: not attempted because an earlier part failed or
	// its outcome is unknown.
	PartNotAttempted PartState = "not_attempted"
)

// Part is the state of one part of a message.
type Part struct {
	Seq       int       `json:"seq"`
	State     PartState `json:"state"`
	Reference int       `json:"reference"` // TP-MR the modem assigned (+CMGS: <mr>); only for sent parts, -1 if unreadable
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

// SendError is a send that stopped at part Failed: that part failed, or,
// if Unknown, its outcome is not known (it may have been sent).
type SendError struct {
	ID      string // the message's id ("" if none was given)
	Parts   []Part // every part's state
	Failed  int    // the 1-based part that failed or whose outcome is unknown
	Unknown bool
	Err     error
}

// Sent returns the parts that went out.
func (e *SendError) Sent() []Part { return SentParts(e.Parts) }

func (e *SendError) Error() string {
	if e.Unknown {
		return fmt.Sprintf("part %d: outcome unknown (its body went to the modem, no answer came; it may have been sent), %d sent before: %v",
			e.Failed, len(e.Sent()), e.Err)
	}
	return fmt.Sprintf("part %d failed after %d sent: %v", e.Failed, len(e.Sent()), e.Err)
}
func (e *SendError) Unwrap() error { return e.Err }

// Progress returns every part's state as the job knows it now; safe to
// call while Send runs (a caller whose wait ended reports it).
func (p *PreparedSMS) Progress() []Part {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.parts == nil {
		return p.initialLocked()
	}
	return append([]Part(nil), p.parts...)
}

func (p *PreparedSMS) initialLocked() []Part {
	parts := make([]Part, len(p.PDUs))
	for i := range parts {
		parts[i] = Part{Seq: i + 1, State: PartPending, Reference: -1}
	}
	return parts
}

func (p *PreparedSMS) set(i int, st PartState, mr int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.parts == nil {
		p.parts = p.initialLocked()
	}
	p.parts[i].State, p.parts[i].Reference = st, mr
	if st == PartFailed || st == PartUnknown {
		for k := i + 1; k < len(p.parts); k++ {
			p.parts[k].State = PartNotAttempted
		}
	}
}

// Send sends the parts one by one, at least Pacing apart between bodies.
// The job is never interrupted between a command and its body; if a part
// fails, or its outcome is unknown, the rest are not sent. It returns
// every part's state (also on error, then with a *SendError) and the
// transcript of the commands sent. A part whose outcome is unknown is
// logged with the message id and watched for a late +CMGS.
func (o *Ops) Send(ctx context.Context, e AT, p *PreparedSMS) ([]Part, []Exchange, error) {
	var xs []Exchange
	fail := func(i int, st PartState, err error) ([]Part, []Exchange, error) {
		p.set(i, st, -1)
		parts := p.Progress()
		se := &SendError{ID: p.ID, Parts: parts, Failed: i + 1, Unknown: st == PartUnknown, Err: err}
		if se.Unknown {
			o.cfg.OnPart(string(PartUnknown), FailureReason(err))
			o.watchLate(p.ID, i+1)
			o.log.Warn("SMS part outcome unknown: its body went to the modem but no final result came; it may have been sent",
				"id", p.ID, "part", i+1, "parts", len(p.PDUs), "sent_before", len(se.Sent()), "err", err)
		} else {
			o.cfg.OnPart(string(PartFailed), FailureReason(err))
			o.log.Warn("SMS part failed", "id", p.ID, "part", i+1, "parts", len(p.PDUs), "sent_before", len(se.Sent()), "err", err)
		}
		return parts, xs, se
	}
	for i, body := range p.PDUs {
		if err := o.pace(ctx); err != nil {
			return fail(i, PartFailed, err)
		}
		if strings.Contains(body, o.cfg.Sentinel) && o.cfg.Sentinel != "" {
			return fail(i, PartFailed, errors.New("PDU contains the heartbeat sentinel")) // impossible for hex; kept as a guard
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
			if errors.Is(err, at.ErrBodyUnconfirmed) {
				return fail(i, PartUnknown, err)
			}
			return fail(i, PartFailed, err)
		}
		mr := -1
		if v, ok := r.Value("+CMGS"); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				mr = n
			}
		}
		o.cfg.OnPart(string(PartSent), "")
		p.set(i, PartSent, mr)
	}
	return p.Progress(), xs, nil
}

// lateWindow is how long a part whose outcome is unknown is watched for
// its late +CMGS.
const lateWindow = 5 * time.Minute

// unconfirmed is a part whose outcome is unknown, watched for a late
// +CMGS: <mr>.
type unconfirmed struct {
	id   string
	part int
	at   time.Time
}

func (o *Ops) watchLate(id string, part int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.late = append(o.late, unconfirmed{id: id, part: part, at: time.Now()})
	if len(o.late) > 16 {
		o.late = o.late[len(o.late)-16:]
	}
}

// HandleLateCMGS takes a +CMGS line that came after its command was given
// up (the engine hands it over as an unsolicited line): it logs that the
// oldest part whose outcome was unknown was sent, with its message id and
// reference, and reports it through OnLateSent. It reports whether it
// consumed u. (The durable outbox will resolve such parts from this.)
func (o *Ops) HandleLateCMGS(u at.URC) bool {
	if u.Name != "" || !strings.HasPrefix(strings.ToUpper(u.Line), "+CMGS:") {
		return false
	}
	o.mu.Lock()
	now := time.Now()
	for len(o.late) > 0 && now.Sub(o.late[0].at) > lateWindow {
		o.late = o.late[1:]
	}
	if len(o.late) == 0 {
		o.mu.Unlock()
		o.log.Warn("late +CMGS matching no part whose outcome is unknown", "line", u.Line)
		return true
	}
	w := o.late[0]
	o.late = o.late[1:]
	o.mu.Unlock()
	mr := strings.TrimSpace(u.Line[len("+CMGS:"):])
	o.log.Warn("late +CMGS: the SMS part whose outcome was unknown was sent", "id", w.id, "part", w.part, "reference", mr)
	o.cfg.OnLateSent()
	return true
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
