package outbox

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/modemops"
)

// Message status values of TS 27.005 §3.1 <stat> in PDU mode.
const (
	statStoUnsent = 2 // stored by AT+CMGW, not sent
	statStoSent   = 3 // stored, sent (AT+CMSS marks it)
)

// stored is one message in the modem's memory as AT+CMGL or AT+CMGR
// shows it in PDU mode.
type stored struct {
	Index  int    // -1 for AT+CMGR, which names none
	Stat   int    // <stat>
	Length int    // the TPDU's octets, the SMSC part excluded
	PDU    string // the PDU line: SMSC part and TPDU, hex; "" if missing
}

// consistent reports whether the PDU line is hex whose TPDU has the
// announced length (noise or a lost line garbles it).
func (s stored) consistent() bool {
	b, err := hex.DecodeString(s.PDU)
	if err != nil || len(b) == 0 {
		return false
	}
	_, tpdu, err := pdu.SplitSMSC(b)
	return err == nil && len(tpdu) == s.Length
}

// parseHeader parses "<a>,<b>,[<alpha>],<length>" (AT+CMGL: index, stat)
// or "<stat>,[<alpha>],<length>" (AT+CMGR) into its integer fields.
func parseHeader(v string, fields int) ([]int, error) {
	f := strings.Split(v, ",")
	if len(f) != fields {
		return nil, fmt.Errorf("want %d fields, got %d", fields, len(f))
	}
	var out []int
	for i, s := range f {
		if i == fields-2 { // <alpha>, may be empty or quoted
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("field %d: %q is not a number", i+1, s)
		}
		out = append(out, n)
	}
	return out, nil
}

// headerValue returns what follows "name:" if line is that header.
func headerValue(line, name string) (string, bool) {
	l := strings.TrimSpace(line)
	if len(l) < len(name)+1 || !strings.EqualFold(l[:len(name)], name) {
		return "", false
	}
	rest := strings.TrimLeft(l[len(name):], " ")
	if !strings.HasPrefix(rest, ":") {
		return "", false
	}
	return strings.TrimSpace(rest[1:]), true
}

// parseList parses AT+CMGL's information text in PDU mode (TS 27.005
// §3.4.2): per message "+CMGL: <index>,<stat>,[<alpha>],<length>" and the
// PDU line. A header without its PDU line gives an entry with PDU "".
func parseList(lines []string) ([]stored, error) {
	var out []stored
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) == "" {
			continue
		}
		v, ok := headerValue(lines[i], "+CMGL")
		if !ok {
			return out, fmt.Errorf("AT+CMGL: unexpected line %q", clip(lines[i]))
		}
		n, err := parseHeader(v, 4)
		if err != nil {
			return out, fmt.Errorf("AT+CMGL: header %q: %w", clip(lines[i]), err)
		}
		s := stored{Index: n[0], Stat: n[1], Length: n[2]}
		if i+1 < len(lines) {
			if _, isHeader := headerValue(lines[i+1], "+CMGL"); !isHeader {
				s.PDU = strings.ToUpper(strings.TrimSpace(lines[i+1]))
				i++
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// parseRead parses AT+CMGR's information text in PDU mode:
// "+CMGR: <stat>,[<alpha>],<length>" and the PDU line.
func parseRead(lines []string) (stored, error) {
	var rest []string
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			rest = append(rest, l)
		}
	}
	if len(rest) == 0 {
		return stored{}, errors.New("AT+CMGR: no information text")
	}
	v, ok := headerValue(rest[0], "+CMGR")
	if !ok {
		return stored{}, fmt.Errorf("AT+CMGR: unexpected line %q", clip(rest[0]))
	}
	n, err := parseHeader(v, 3)
	if err != nil {
		return stored{}, fmt.Errorf("AT+CMGR: header %q: %w", clip(rest[0]), err)
	}
	s := stored{Index: -1, Stat: n[0], Length: n[1]}
	if len(rest) > 1 {
		s.PDU = strings.ToUpper(strings.TrimSpace(rest[1]))
	}
	return s, nil
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// samePDU reports whether the stored PDU line is the part's PDU: the
// TPDUs are equal except TP-MR (octet 1 of an SMS-SUBMIT, which a modem
// may fill in when it sends); the SMSC part is ignored (a modem may show
// the SMSC it filled in for "00").
func samePDU(partHex, storedHex string) bool {
	a, err1 := hex.DecodeString(partHex)
	b, err2 := hex.DecodeString(storedHex)
	if err1 != nil || err2 != nil {
		return false
	}
	_, ta, err1 := pdu.SplitSMSC(a)
	_, tb, err2 := pdu.SplitSMSC(b)
	if err1 != nil || err2 != nil || len(ta) != len(tb) || len(ta) < 2 {
		return false
	}
	for i := range ta {
		if i != 1 && ta[i] != tb[i] {
			return false
		}
	}
	return true
}

// tpduLength is the octets of the part's TPDU, for AT+CMGW=<length>.
func tpduLength(partHex string) (int, error) {
	b, err := hex.DecodeString(partHex)
	if err != nil {
		return 0, fmt.Errorf("part PDU: %w", err)
	}
	_, tpdu, err := pdu.SplitSMSC(b)
	if err != nil {
		return 0, fmt.Errorf("part PDU: %w", err)
	}
	return len(tpdu), nil
}

// modemAnswered reports whether err is the modem's own answer (at.Answered:
// ERROR, +CME ERROR, +CMS ERROR; or no prompt) as opposed to a lost or
// timed-out exchange whose effect is unknown.
func modemAnswered(err error) bool { return at.Answered(err) || errors.Is(err, at.ErrPrompt) }

// isCMS reports whether err is +CMS ERROR: code.
func isCMS(err error, code int) bool {
	c, ok := at.CMSCode(err)
	return ok && c == code
}

// memory runs the message-memory commands on one engine and records
// every exchange (for the original /sms answer and the logs).
type memory struct {
	e              modemops.AT
	commandTimeout at.CommandOption
	smsTimeout     at.CommandOption
	bodyTimeout    at.CommandOption
	record         func(modemops.Exchange)
}

func (m *memory) run(ctx context.Context, cmd string, opt at.CommandOption) (at.Response, error) {
	x := modemops.Exchange{Command: "AT" + cmd, StartedAt: now()}
	r, err := m.e.Command(ctx, cmd, opt)
	x.FinishedAt, x.Response, x.Final = now(), append([]string{}, r.Lines...), modemops.FinalText(err)
	m.record(x)
	return r, err
}

// write stores the part with AT+CMGW=<length> (stat STO UNSENT, the
// default) and returns its index.
func (m *memory) write(ctx context.Context, partHex string) (int, error) {
	n, err := tpduLength(partHex)
	if err != nil {
		return 0, err
	}
	cmd := "+CMGW=" + strconv.Itoa(n)
	x := modemops.Exchange{Command: "AT" + cmd, Body: partHex, StartedAt: now()}
	r, err := m.e.SMSCommand(ctx, cmd, partHex, m.commandTimeout, m.bodyTimeout)
	x.FinishedAt, x.Response, x.Final = now(), append([]string{}, r.Lines...), modemops.FinalText(err)
	m.record(x)
	if err != nil {
		return 0, err
	}
	v, ok := r.Value("+CMGW")
	idx, perr := strconv.Atoi(strings.TrimSpace(v))
	if !ok || perr != nil || idx < 0 {
		// OK without a readable index: the copy is somewhere; treat it as
		// a write whose effect is unknown (found again by content).
		return 0, fmt.Errorf("AT+CMGW answered OK without an index (%q): %w", v, errNoIndex)
	}
	return idx, nil
}

// errNoIndex: AT+CMGW said OK but its index could not be read.
var errNoIndex = errors.New("no storage index")

// submit sends the stored message at idx (AT+CMSS) and returns its TP-MR
// (store.NoMR if the answer does not show one).
func (m *memory) submit(ctx context.Context, idx int) (int, error) {
	r, err := m.run(ctx, "+CMSS="+strconv.Itoa(idx), m.smsTimeout)
	if err != nil {
		return 0, err
	}
	v, _ := r.Value("+CMSS")
	mrText, _, _ := strings.Cut(v, ",")
	mr, perr := strconv.Atoi(strings.TrimSpace(mrText))
	if perr != nil || mr < 0 || mr > 255 {
		return -1, nil
	}
	return mr, nil
}

// read reads the message at idx (AT+CMGR). found is false if the index is
// empty (+CMS ERROR: 321).
func (m *memory) read(ctx context.Context, idx int) (s stored, found bool, err error) {
	r, err := m.run(ctx, "+CMGR="+strconv.Itoa(idx), m.commandTimeout)
	if isCMS(err, 321) {
		return stored{}, false, nil
	}
	if err != nil {
		return stored{}, false, err
	}
	s, err = parseRead(r.Lines)
	if err != nil {
		return stored{}, false, err
	}
	s.Index = idx
	return s, true, nil
}

// list lists the stored messages of one status (AT+CMGL=<stat>).
func (m *memory) list(ctx context.Context, stat int) ([]stored, error) {
	r, err := m.run(ctx, "+CMGL="+strconv.Itoa(stat), m.commandTimeout)
	if err != nil {
		return nil, err
	}
	return parseList(r.Lines)
}

// remove deletes the message at idx (AT+CMGD=<idx>); an empty index
// (+CMS ERROR: 321) counts as deleted.
func (m *memory) remove(ctx context.Context, idx int) error {
	_, err := m.run(ctx, "+CMGD="+strconv.Itoa(idx), m.commandTimeout)
	if isCMS(err, 321) {
		return nil
	}
	return err
}
