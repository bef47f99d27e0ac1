package modemops

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"slices"
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
	// Restore: the line changes a setting the api relies on (echo, a
	// profile reset, +CMEE, +CMGF, +CSCS, +CNMI, +CPMS, +CFUN); the api
	// re-runs its init settings right after it, in the same job.
	Restore bool
}

// Exchange is one command of a transcript.
type Exchange struct {
	Command    string    `json:"command"`
	Body       string    `json:"body,omitempty"`
	Response   []string  `json:"response"`
	Final      string    `json:"final"` // OK, ERROR, +CME ERROR: …, +CMS ERROR: …, TIMEOUT, UNAVAILABLE
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	// Restored: the command changed settings the api relies on, which
	// were then set back (see RawCommand.Restore).
	Restored bool `json:"restoredSettings,omitempty"`
}

// RefusedError is a raw command line the api does not send because the
// modem would be left in a state the AT engine cannot track.
type RefusedError struct {
	Field   string // command or hex
	Command string // the offending command as parsed ("V0", "+CMGS=10")
	Reason  string
}

func (e *RefusedError) Error() string {
	return e.Field + ": AT" + e.Command + " refused: " + e.Reason
}

// Unwrap makes a refusal an input error.
func (e *RefusedError) Unwrap() error { return ErrInvalid }

// promptCommands open the "> " prompt (their set form; AT+CMGW also bare
// in text mode). AT+CNMA prompts only in its set form with a length.
var promptCommands = []string{"+CMGS", "+CMGW", "+CMGC", "+CNMA"}

// refusedBasic are basic commands that leave the modem where the engine
// cannot follow, with the reason.
var refusedBasic = map[string]string{
	"D": "dials: a call or data connection would take the AT port",
	"A": "answers a call (or, as A/, repeats the previous line unseen)",
	"O": "returns to online data mode",
}

// refusedSet are commands whose set form changes the link itself.
var refusedSet = map[string]string{
	"S3":    "changes the command line terminator (S3)",
	"S4":    "changes the response formatting character (S4)",
	"S5":    "changes the editing character (S5)",
	"+IPR":  "changes the serial port's bit rate",
	"+ICF":  "changes the serial port's character framing",
	"+IFC":  "changes the serial port's flow control",
	"+CMUX": "starts the multiplexer protocol on the port",
}

// restoredSet are the settings the api relies on: their set form is run,
// then the api's values are restored.
var restoredSet = []string{"+CMEE", "+CMGF", "+CSCS", "+CNMI", "+CPMS", "+CFUN"}

// classifyLine decides, the way the modem parses the line (see
// at.ParseLine), whether a raw command line may be sent and whether the
// api's settings must be restored after it. This is the one place that
// knows which raw commands are unsafe; hasBody says whether an SMS body
// follows the line.
func classifyLine(field, line string, hasBody bool) (restore bool, err error) {
	cmds, perr := at.ParseLine(line)
	if perr != nil {
		return false, &RefusedError{Field: field, Command: line, Reason: "the api cannot parse it as AT commands (" + strings.TrimPrefix(perr.Error(), "at: command line: ") + ")"}
	}
	refuse := func(c at.LineCommand, reason string) error {
		return &RefusedError{Field: field, Command: text(c), Reason: reason}
	}
	prompt := false
	for _, c := range cmds {
		if r, ok := refusedBasic[c.Name]; ok {
			return false, refuse(c, r)
		}
		if r, ok := refusedSet[c.Name]; ok && c.Form == at.FormSet {
			return false, refuse(c, r)
		}
		switch c.Name {
		case "V":
			if c.Arg != "1" {
				return false, refuse(c, "numeric result codes (ATV0): the api reads only verbose ones")
			}
		case "Q":
			if c.Arg != "" && c.Arg != "0" {
				return false, refuse(c, "no result codes (ATQ1): the api could not tell when a command ends")
			}
		case "E", "Z", "&F":
			restore = true
		}
		if slices.Contains(restoredSet, c.Name) && c.Form == at.FormSet {
			restore = true
		}
		if slices.Contains(promptCommands, c.Name) && (c.Form == at.FormSet || c.Form == at.FormExec && c.Name != "+CNMA") {
			if !hasBody || len(cmds) != 1 {
				return false, refuse(c, "opens the SMS prompt; use POST /v1/sms, or send it alone as hex bytes with its body and a final Ctrl-Z (1A)")
			}
			prompt = true
		}
	}
	if hasBody && !prompt {
		return false, &RefusedError{Field: field, Command: line, Reason: "bytes after the command line are only for a command that prompts for a body"}
	}
	return restore, nil
}

// text writes a parsed command back for a message: "V0", "+CMGS=10".
func text(c at.LineCommand) string {
	switch c.Form {
	case at.FormSet:
		return c.Name + "=" + c.Arg
	case at.FormRead:
		return c.Name + "?"
	case at.FormTest:
		return c.Name + "=?"
	}
	return c.Name + c.Arg
}

// ParseReadable validates a readable command ("AT+CSQ" or "+CSQ"): printable
// ASCII on one line, no ';' (one command per request; basic commands
// that follow each other, "E1V1", are still parsed one by one), never the
// heartbeat sentinel, and a line that classifyLine accepts (no SMS
// prompt: that needs hex bytes with the body).
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
	restore, err := classifyLine("command", s, false)
	if err != nil {
		return RawCommand{}, err
	}
	return RawCommand{Line: s, Restore: restore}, nil
}

// ParseHex validates hex bytes: exactly one command line "AT…\r", or a
// prompting command line alone followed by its body and a final Ctrl-Z
// (0x1A). The line is classified like a readable one; never a second
// line, an ESC, or the heartbeat sentinel.
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
	if len(rest) > 0 {
		if rest[len(rest)-1] != 0x1A {
			return RawCommand{}, fieldErr("hex", "bytes after the command line must be an SMS body ending with Ctrl-Z (1A)")
		}
		body := rest[:len(rest)-1]
		if bytes.ContainsAny(body, "\x1a\x1b\r") {
			return RawCommand{}, fieldErr("hex", "the body may not contain CR, Ctrl-Z or ESC before its final Ctrl-Z")
		}
		rc.Body, rc.HasBody = string(body), true
	}
	if rc.Restore, err = classifyLine("hex", rc.Line, rc.HasBody); err != nil {
		return RawCommand{}, err
	}
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
	if rc.Restore {
		// Whatever the answer: a command line stops at its first error,
		// but the commands before it ran.
		if rerr := o.Restore(ctx, e); rerr != nil {
			o.log.Warn("raw AT: restoring the api's settings failed; retried before the next status poll", "command", x.Command, "err", rerr)
		} else {
			x.Restored = true
		}
	}
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
