package outbox

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
	"github.com/sim-modem-api/sim-modem-api/modem/smsmem"
)

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
func (m *memory) read(ctx context.Context, idx int) (s smsmem.Entry, found bool, err error) {
	r, err := m.run(ctx, "+CMGR="+strconv.Itoa(idx), m.commandTimeout)
	if at.InvalidIndex(err) {
		return smsmem.Entry{}, false, nil
	}
	if err != nil {
		return smsmem.Entry{}, false, err
	}
	s, err = smsmem.ParseRead(r.Lines)
	if err != nil {
		return smsmem.Entry{}, false, err
	}
	s.Index = idx
	return s, true, nil
}

// list lists the stored messages of one status (AT+CMGL=<stat>).
func (m *memory) list(ctx context.Context, stat int) ([]smsmem.Entry, error) {
	r, err := m.run(ctx, "+CMGL="+strconv.Itoa(stat), m.commandTimeout)
	if err != nil {
		return nil, err
	}
	return smsmem.ParseList(r.Lines)
}

// remove deletes the message at idx (AT+CMGD=<idx>); an empty index
// (+CMS ERROR: 321) counts as deleted.
func (m *memory) remove(ctx context.Context, idx int) error {
	_, err := m.run(ctx, "+CMGD="+strconv.Itoa(idx), m.commandTimeout)
	if at.InvalidIndex(err) {
		return nil
	}
	return err
}

// encodeSCA is the SMSC part of a PDU for the configured SMSC number ("":
// the octet 00, the SIM's own service centre).
func encodeSCA(smsc string) ([]byte, error) {
	a := pdu.Address{}
	if smsc != "" {
		var err error
		if a, err = pdu.ParseAddress(smsc); err != nil {
			return nil, fmt.Errorf("SMSC %q: %w", smsc, err)
		}
	}
	return pdu.EncodeSMSC(a)
}

// withSCA is the part's PDU with this modem's SMSC part in place of the
// one it was encoded with (the PDU unchanged if it does not split).
func (w *Worker) withSCA(partHex string) string {
	if w.sca == nil {
		return partHex
	}
	b, err := hex.DecodeString(partHex)
	if err != nil {
		return partHex
	}
	_, tpdu, err := pdu.SplitSMSC(b)
	if err != nil {
		return partHex
	}
	return strings.ToUpper(hex.EncodeToString(append(append([]byte{}, w.sca...), tpdu...)))
}
