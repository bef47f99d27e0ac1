package at

import (
	"strings"
	"time"
)

// URC is an unsolicited result code, or any line that arrived while it
// could not belong to a command.
type URC struct {
	// Name is the registered name the line matched ("+CMTI", "RING"),
	// "" for a line that matched none.
	Name string
	// Line is the line, without surrounding spaces and control
	// characters.
	Line string
	// PDU is the second line of a two-line URC (+CMT, +CDS, +CBM): the
	// PDU in hex. "" for one-line URCs.
	PDU string
	// Late is set on lines the default handler gets while the engine is
	// out of sync after a timeout: most likely the late answer of the
	// command that timed out.
	Late bool
	// Time is when the (last) line was read.
	Time time.Time
}

// Value returns the text after the name and its colon, trimmed:
// `"SM",5` for `+CMTI: "SM",5`.
func (u URC) Value() string { return afterColon(u.Line) }

// URCSpec describes an unsolicited result code the engine recognises.
type URCSpec struct {
	// Name is the line's name: the text before its colon ("+CMTI"), or
	// the whole line for codes without one ("RING", "+ZEND").
	Name string
	// PDU marks a two-line URC whose second line is a PDU.
	PDU bool
}

// StandardURCs are the URCs every engine recognises, so that they never
// end up in a command's response even if nobody handles them: the
// TS 27.005 §3.4.1 message indications, registration and USSD reports of
// TS 27.007, RING, and the ZTE-specific reports of the MF8xx sticks.
var StandardURCs = []URCSpec{
	{Name: "+CMTI"}, {Name: "+CMT", PDU: true},
	{Name: "+CDSI"}, {Name: "+CDS", PDU: true},
	{Name: "+CBMI"}, {Name: "+CBM", PDU: true},
	{Name: "+CREG"}, {Name: "+CGREG"}, {Name: "+CEREG"},
	{Name: "+CUSD"}, {Name: "RING"}, {Name: "+CRING"}, {Name: "+CLIP"},
	{Name: "+ZUSIMR"}, {Name: "+ZDONR"}, {Name: "+ZPASR"},
	{Name: "+ZPSTM"}, {Name: "+ZEND"},
}

// Handler receives URCs. Handlers run one at a time on the engine's
// dispatcher goroutine, in arrival order; they may call Command (the
// reader keeps running), but must return for the engine to deliver the
// next URC and to close.
type Handler func(URC)

// afterColon returns what follows the first colon of line, trimmed.
func afterColon(line string) string {
	if i := strings.IndexByte(line, ':'); i >= 0 {
		return strings.TrimSpace(line[i+1:])
	}
	return ""
}
