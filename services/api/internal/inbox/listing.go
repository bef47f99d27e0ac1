package inbox

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
)

// Message status values of TS 27.005 §3.1 <stat> in PDU mode.
const (
	StatRecUnread = 0 // received, unread
	StatRecRead   = 1 // received, read
	StatStoUnsent = 2 // stored by the TE (AT+CMGW), not sent: the outbox's
	StatStoSent   = 3 // stored by the TE, sent: the outbox's
)

// Entry is one message of an AT+CMGL (or AT+CMGR) answer in PDU mode.
type Entry struct {
	Index  int    // its index in the store (-1 for AT+CMGR, which names none)
	Stat   int    // <stat>
	Length int    // <length>: the TPDU's octets, the SMSC part excluded
	PDU    string // the PDU line as shown: SMSC part, then the TPDU, in hex; "" if missing
}

// Consistent reports whether the PDU line is hex whose TPDU has the
// announced length: a line that noise or a lost line garbled is not, and
// is read again with AT+CMGR before anything is committed.
func (e Entry) Consistent() bool {
	b, err := hex.DecodeString(e.PDU)
	if err != nil || len(b) == 0 {
		return false
	}
	_, tpdu, err := pdu.SplitSMSC(b)
	return err == nil && len(tpdu) == e.Length
}

// IsStatusReport reports whether the entry's TPDU is an SMS-STATUS-REPORT
// (TP-MTI 10 in the mobile-terminated direction, TS 23.040 §9.2.3.1);
// otherwise it is taken for an SMS-DELIVER (or undecodable, kept raw).
func (e Entry) IsStatusReport() bool {
	b, err := hex.DecodeString(e.PDU)
	if err != nil {
		return false
	}
	_, tpdu, err := pdu.SplitSMSC(b)
	return err == nil && len(tpdu) > 0 && tpdu[0]&0x03 == 0x02
}

// Received reports whether the entry is a received message (REC UNREAD or
// REC READ) rather than one the outbox stored (STO UNSENT, STO SENT).
func (e Entry) Received() bool { return e.Stat == StatRecUnread || e.Stat == StatRecRead }

// ParseList parses the information text of AT+CMGL in PDU mode: per
// message a header "+CMGL: <index>,<stat>,[<alpha>],<length>" and the PDU
// line (TS 27.005 §3.4.2, §4.1). A header whose PDU line is missing (the
// next line is a header, or the text ends) gives an entry with PDU "".
// Lines that are neither a header nor follow one are an error, as is a
// header that does not parse: the caller does not guess.
func ParseList(lines []string) ([]Entry, error) {
	var out []Entry
	for i := 0; i < len(lines); i++ {
		v, ok := cutName(lines[i], "+CMGL")
		if !ok {
			return out, fmt.Errorf("inbox: AT+CMGL: unexpected line %q", clip(lines[i]))
		}
		f := strings.Split(v, ",")
		if len(f) < 3 {
			return out, fmt.Errorf("inbox: AT+CMGL: header %q: want <index>,<stat>,[<alpha>],<length>", clip(lines[i]))
		}
		idx, err1 := atoi(f[0])
		stat, err2 := atoi(f[1])
		length, err3 := atoi(f[len(f)-1])
		if err1 != nil || err2 != nil || err3 != nil || stat > 4 {
			return out, fmt.Errorf("inbox: AT+CMGL: header %q: want <index>,<stat>,[<alpha>],<length>", clip(lines[i]))
		}
		e := Entry{Index: idx, Stat: stat, Length: length}
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

// ParseRead parses the information text of AT+CMGR=<index> in PDU mode:
// "+CMGR: <stat>,[<alpha>],<length>" and the PDU line.
func ParseRead(lines []string) (Entry, error) {
	if len(lines) == 0 {
		return Entry{}, fmt.Errorf("inbox: AT+CMGR: empty answer")
	}
	v, ok := cutName(lines[0], "+CMGR")
	f := strings.Split(v, ",")
	if !ok || len(f) < 2 {
		return Entry{}, fmt.Errorf("inbox: AT+CMGR: header %q: want <stat>,[<alpha>],<length>", clip(lines[0]))
	}
	stat, err1 := atoi(f[0])
	length, err2 := atoi(f[len(f)-1])
	if err1 != nil || err2 != nil || stat > 4 {
		return Entry{}, fmt.Errorf("inbox: AT+CMGR: header %q: want <stat>,[<alpha>],<length>", clip(lines[0]))
	}
	e := Entry{Index: -1, Stat: stat, Length: length}
	if len(lines) > 1 {
		e.PDU = strings.ToUpper(strings.TrimSpace(lines[1]))
	}
	return e, nil
}

// Fill is how full one message store is.
type Fill struct {
	Memory string `json:"memory"`
	Used   int    `json:"used"`
	Total  int    `json:"total"`
}

// Full reports whether no further message fits.
func (f Fill) Full() bool { return f.Total > 0 && f.Used >= f.Total }

// parseCPMSSet reads the first store's fill from the answer of
// AT+CPMS=<mem1>: "+CPMS: <used1>,<total1>,<used2>,<total2>,<used3>,<total3>"
// (TS 27.005 §3.2.2; some modems answer only the pairs they changed).
func parseCPMSSet(v string) (used, total int, err error) {
	f := splitFields(v)
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("inbox: +CPMS answer %q: want <used1>,<total1>,…", clip(v))
	}
	used, err1 := atoi(f[0])
	total, err2 := atoi(f[1])
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("inbox: +CPMS answer %q: want <used1>,<total1>,…", clip(v))
	}
	return used, total, nil
}

// parseCPMSRead reads the three selected stores from the answer of
// AT+CPMS?: `"SM",0,30,"SM",0,30,"SM",0,30` (also with spaces). It returns
// nil if the answer names no stores (the numbers-only form some ZTE
// sticks use), when the api's own selection is restored instead.
func parseCPMSRead(v string) []Fill {
	f := splitFields(v)
	if len(f) != 9 {
		return nil
	}
	var out []Fill
	for i := 0; i < 9; i += 3 {
		used, err1 := atoi(f[i+1])
		total, err2 := atoi(f[i+2])
		if err1 != nil || err2 != nil || !storeName(f[i]) {
			return nil
		}
		out = append(out, Fill{Memory: f[i], Used: used, Total: total})
	}
	return out
}

// storeName reports whether s looks like a TS 27.005 <mem> (two capital
// letters: SM, ME, MT, SR, BM, TA).
func storeName(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// splitFields splits a parameter list at commas, trimming spaces and quotes.
func splitFields(v string) []string {
	f := strings.Split(v, ",")
	for i := range f {
		f[i] = strings.Trim(strings.TrimSpace(f[i]), `"`)
	}
	return f
}

// cutName returns the value after "name:" if line starts with it.
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

// atoi parses a non-negative decimal number of at most 6 digits.
func atoi(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 6 || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("not a number: %q", s)
	}
	return strconv.Atoi(s)
}

// clip shortens a line for an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
