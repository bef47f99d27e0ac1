package modemops

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
)

// RawCommand is a validated raw command: the command line after "AT" and,
// for a command that prompts (AT+CMGS), the body sent before Ctrl-Z.
type RawCommand struct {
	Line    string // after "AT"
	Body    string // "" unless HasBody
	HasBody bool
}

// Exchange is one command of a transcript.
type Exchange struct {
	Command    string    `json:"command"`
	Body       string    `json:"body,omitempty"`
	Response   []string  `json:"response"`
	Final      string    `json:"final"` // OK, ERROR, +CME ERROR: …, +CMS ERROR: …, TIMEOUT, UNAVAILABLE
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
}

var promptCommands = []string{"+CMGS", "+CMGW", "+CMGC", "+CNMA"}

// ParseReadable validates a readable command ("AT+CSQ" or "+CSQ"): printable
// ASCII on one line, one command (no ";"), not a command that opens the
// SMS prompt, and never the heartbeat sentinel. Anything else must come as
// hex bytes.
func ParseReadable(s, sentinel string) (RawCommand, error) {
	s = strings.Trim(s, " ")
	if len(s) >= 2 && strings.EqualFold(s[:2], "AT") {
		s = s[2:]
	}
	if len(s) > 512 {
		return RawCommand{}, fieldErr("command", "longer than 512 characters")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return RawCommand{}, fieldErr("command", "contains the control or non-ASCII byte 0x%02X (CR, LF, Ctrl-Z and ESC are refused); send such input as hex bytes", c)
		}
	}
	if strings.Contains(s, ";") {
		return RawCommand{}, fieldErr("command", "contains ';' (a second command on the line); send one command per request, or hex bytes")
	}
	if sentinel != "" && strings.Contains(s, sentinel) {
		return RawCommand{}, fieldErr("command", "contains the relay's heartbeat sentinel")
	}
	up := strings.ToUpper(s)
	for _, p := range promptCommands {
		if strings.HasPrefix(up, p) {
			return RawCommand{}, fieldErr("command", "%s opens the SMS prompt; use the SMS endpoint, or hex bytes with the body and Ctrl-Z", p)
		}
	}
	return RawCommand{Line: s}, nil
}

// ParseHex validates hex bytes: exactly one command line "AT…\r", or a
// prompting command line followed by its body and a final Ctrl-Z (0x1A).
// The bytes may contain anything else the modem understands (';' joins),
// but never a second line, an ESC, or the heartbeat sentinel.
func ParseHex(h, sentinel string) (RawCommand, error) {
	b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(h), " ", ""))
	if err != nil {
		return RawCommand{}, fieldErr("hex", "not hex bytes: %v", err)
	}
	if sentinel != "" && bytes.Contains(b, []byte(sentinel)) {
		return RawCommand{}, fieldErr("hex", "contains the relay's heartbeat sentinel")
	}
	if len(b) < 3 || !strings.EqualFold(string(b[:2]), "AT") {
		return RawCommand{}, fieldErr("hex", "must start with AT")
	}
	line, rest, ok := bytes.Cut(b, []byte{'\r'})
	if !ok {
		return RawCommand{}, fieldErr("hex", "the command line must end with CR (0D)")
	}
	for _, c := range line {
		if c < 0x20 || c == 0x7f {
			return RawCommand{}, fieldErr("hex", "the command line contains the control byte 0x%02X", c)
		}
	}
	rc := RawCommand{Line: string(line[2:])}
	if len(rest) == 0 {
		return rc, nil
	}
	if rest[len(rest)-1] != 0x1A {
		return RawCommand{}, fieldErr("hex", "bytes after the command line must be an SMS body ending with Ctrl-Z (1A)")
	}
	body := rest[:len(rest)-1]
	if bytes.ContainsAny(body, "\x1a\x1b\r") {
		return RawCommand{}, fieldErr("hex", "the body may not contain CR, Ctrl-Z or ESC before its final Ctrl-Z")
	}
	rc.Body, rc.HasBody = string(body), true
	return rc, nil
}

// Raw runs rc with the given timeout (0: the default) and returns its
// exchange. The error is the engine's (nil for OK).
func (o *Ops) Raw(ctx context.Context, e AT, rc RawCommand, timeout time.Duration) (Exchange, error) {
	if timeout <= 0 {
		timeout = o.cfg.CommandTimeout
	}
	x := Exchange{Command: "AT" + rc.Line, StartedAt: time.Now().UTC()}
	var r at.Response
	var err error
	if rc.HasBody {
		x.Body = rc.Body
		r, err = e.SMSCommand(ctx, rc.Line, rc.Body, at.Timeout(timeout), at.BodyTimeout(max(timeout, o.cfg.SMSTimeout)))
	} else {
		r, err = e.Command(ctx, rc.Line, at.Timeout(timeout))
	}
	x.FinishedAt = time.Now().UTC()
	x.Response = append([]string{}, r.Lines...)
	x.Final = FinalText(err)
	return x, err
}

// FinalText is the final result code an error stands for.
func FinalText(err error) string {
	var cme *at.CMEError
	var cms *at.CMSError
	var fe *at.FinalError
	switch {
	case err == nil:
		return "OK"
	case errors.As(err, &cme):
		return strings.TrimPrefix(cme.Error(), "at: ")
	case errors.As(err, &cms):
		return strings.TrimPrefix(cms.Error(), "at: ")
	case errors.As(err, &fe):
		return fe.Result
	case errors.Is(err, at.ErrError):
		return "ERROR"
	case errors.Is(err, at.ErrPrompt):
		return "OK (no prompt)"
	case errors.Is(err, at.ErrDeadlineExceeded), errors.Is(err, at.ErrOutOfSync):
		return "TIMEOUT"
	}
	return "UNAVAILABLE"
}
