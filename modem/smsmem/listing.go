package smsmem

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
)

// Message status values of TS 27.005 §3.1 <stat> in PDU mode.
const (
	StatRecUnread = 0 // received, unread
	StatRecRead   = 1 // received, read
	StatStoUnsent = 2 // stored by the TE (AT+CMGW), not sent
	StatStoSent   = 3 // stored by the TE, sent (AT+CMSS marks it)
	StatAll       = 4 // AT+CMGL=4: all messages; never a message's own status
)

// Entry is one message of an AT+CMGL (or AT+CMGR) answer in PDU mode.
type Entry struct {
	Index  int    // its index in the store (-1 for AT+CMGR, which names none)
	Stat   int    // <stat>
	Length int    // <length>: the TPDU's octets, the SMSC part excluded
	PDU    string // the PDU line as shown (upper case): SMSC part, then the TPDU, in hex; "" if missing
}

// Consistent reports whether the PDU line is hex whose TPDU has the
// announced length: a line that noise or a lost line garbled is not.
func (e Entry) Consistent() bool {
	tpdu, ok := e.tpdu()
	return ok && len(tpdu) == e.Length
}

// IsStatusReport reports whether the entry's TPDU is an SMS-STATUS-REPORT
// (TP-MTI 10 in the mobile-terminated direction, TS 23.040 §9.2.3.1);
// otherwise it is taken for an SMS-DELIVER (or undecodable, kept raw).
func (e Entry) IsStatusReport() bool {
	tpdu, ok := e.tpdu()
	return ok && len(tpdu) > 0 && tpdu[0]&0x03 == 0x02
}

// Received reports whether the entry is a received message (REC UNREAD or
// REC READ) rather than one the TE stored (STO UNSENT, STO SENT).
func (e Entry) Received() bool { return e.Stat == StatRecUnread || e.Stat == StatRecRead }

// tpdu returns the TPDU of the PDU line (the SMSC part removed).
func (e Entry) tpdu() ([]byte, bool) {
	b, err := hex.DecodeString(e.PDU)
	if err != nil || len(b) == 0 {
		return nil, false
	}
	_, tpdu, err := pdu.SplitSMSC(b)
	return tpdu, err == nil
}

// ParseList parses the information text of AT+CMGL in PDU mode: per
// message a header "+CMGL: <index>,<stat>,[<alpha>],<length>" and the PDU
// line (TS 27.005 §3.4.2, §4.1). A header whose PDU line is missing (the
// next line is a header, or the text ends) gives an entry with PDU "".
// At the first line that is neither a header nor follows one, or a header
// that does not parse, it returns the entries before it and an error.
func ParseList(lines []string) ([]Entry, error) {
	var out []Entry
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) == "" {
			continue
		}
		v, ok := cutName(lines[i], "+CMGL")
		if !ok {
			return out, fmt.Errorf("smsmem: AT+CMGL: unexpected line %q", Clip(lines[i]))
		}
		idx, rest, _ := strings.Cut(v, ",")
		index, err := atoi(idx)
		if err != nil {
			return out, fmt.Errorf("smsmem: AT+CMGL: header %q: want <index>,<stat>,[<alpha>],<length>", Clip(lines[i]))
		}
		stat, length, err := statLength(rest)
		if err != nil {
			return out, fmt.Errorf("smsmem: AT+CMGL: header %q: %w", Clip(lines[i]), err)
		}
		e := Entry{Index: index, Stat: stat, Length: length}
		if i+1 < len(lines) {
			if _, isHeader := cutName(lines[i+1], "+CMGL"); !isHeader {
				i++
				e.PDU = strings.ToUpper(strings.TrimSpace(lines[i]))
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// ParseRead parses the information text of AT+CMGR=<index> in PDU mode
// (TS 27.005 §3.4.3): "+CMGR: <stat>,[<alpha>],<length>" and the PDU line.
// The entry's Index is -1: the caller knows which index it read.
func ParseRead(lines []string) (Entry, error) {
	var rest []string
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			rest = append(rest, l)
		}
	}
	if len(rest) == 0 {
		return Entry{}, errors.New("smsmem: AT+CMGR: no information text")
	}
	v, ok := cutName(rest[0], "+CMGR")
	if !ok {
		return Entry{}, fmt.Errorf("smsmem: AT+CMGR: unexpected line %q", Clip(rest[0]))
	}
	stat, length, err := statLength(v)
	if err != nil {
		return Entry{}, fmt.Errorf("smsmem: AT+CMGR: header %q: %w", Clip(rest[0]), err)
	}
	e := Entry{Index: -1, Stat: stat, Length: length}
	if len(rest) > 1 {
		e.PDU = strings.ToUpper(strings.TrimSpace(rest[1]))
	}
	return e, nil
}

// statLength parses "<stat>,[<alpha>],<length>", the common tail of both
// headers. <alpha> may be empty, unquoted without commas, or quoted (and
// then may hold commas).
func statLength(v string) (stat, length int, err error) {
	bad := errors.New("want <stat>,[<alpha>],<length>")
	s, rest, ok := strings.Cut(v, ",")
	cut := strings.LastIndexByte(rest, ',')
	if !ok || cut < 0 {
		return 0, 0, bad
	}
	alpha := strings.TrimSpace(rest[:cut])
	quoted := len(alpha) >= 2 && alpha[0] == '"' && alpha[len(alpha)-1] == '"'
	if strings.Contains(alpha, ",") && !quoted {
		return 0, 0, bad
	}
	stat, err1 := atoi(s)
	length, err2 := atoi(rest[cut+1:])
	if err1 != nil || err2 != nil || stat > StatAll {
		return 0, 0, bad
	}
	return stat, length, nil
}

// cutName returns the value after "name:" if line starts with it (any
// case, spaces allowed before the colon).
func cutName(line, name string) (string, bool) {
	line = strings.TrimSpace(line)
	if len(line) < len(name) || !strings.EqualFold(line[:len(name)], name) {
		return "", false
	}
	rest := strings.TrimLeft(line[len(name):], " ")
	if !strings.HasPrefix(rest, ":") {
		return "", false
	}
	return strings.TrimSpace(rest[1:]), true
}

// atoi parses a non-negative decimal number of at most 6 digits (no sign).
func atoi(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 6 || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("not a number: %q", s)
	}
	return strconv.Atoi(s)
}

// Clip shortens modem output for an error or log message.
func Clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
