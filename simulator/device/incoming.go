package device

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
)

// incomingPart is one SMS-DELIVER on its way to the modem.
type incomingPart struct {
	sca   []byte // SMSC part, length octet first
	tpdu  []byte
	class int // message class, -1 if none
}

// InjectSMS delivers a mobile-terminated SMS to the modem, as the network
// would: split into parts (real TS 23.040 SMS-DELIVER PDUs), delivered in
// the given order and routed per the session's +CNMI and +CPMS (the
// power-on settings if no session runs): stored in the receive store with
// +CMTI, or shown as +CMT. Parts that find the store full, or the modem
// unregistered, wait "in the network" and arrive once possible.
func (d *Device) InjectSMS(in IncomingSMS) (Injected, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	parts, n, err := d.buildIncomingLocked(in)
	if err != nil {
		return Injected{}, err
	}
	res := Injected{Parts: n}
	for _, p := range parts {
		if len(d.waiting) > 0 {
			d.waiting = append(d.waiting, p)
			res.Waiting++
			continue
		}
		switch where, idx := d.routeIncomingLocked(p); where {
		case routedStored:
			res.Stored = append(res.Stored, idx)
		case routedDirect:
			res.Direct++
		default:
			d.waiting = append(d.waiting, p)
			res.Waiting++
		}
	}
	d.log.Info("control: SMS injected", "from", in.From, "parts", res.Parts, "stored", res.Stored, "waiting", res.Waiting, "direct", res.Direct)
	return res, nil
}

// buildIncomingLocked turns an IncomingSMS into parts in delivery order
// (a duplicate as often as Order lists it) and the number of parts.
func (d *Device) buildIncomingLocked(in IncomingSMS) ([]incomingPart, int, error) {
	if in.PDU != "" {
		raw, err := hex.DecodeString(strings.TrimSpace(in.PDU))
		if err != nil {
			return nil, 0, fmt.Errorf("device: incoming PDU: %w", err)
		}
		_, tpdu, err := pdu.SplitSMSC(raw)
		if err != nil {
			return nil, 0, fmt.Errorf("device: incoming PDU: %w", err)
		}
		dl, err := pdu.DecodeDeliver(tpdu)
		if err != nil {
			return nil, 0, fmt.Errorf("device: incoming PDU is not an SMS-DELIVER: %w", err)
		}
		class, ok := dl.DCS.Class()
		if !ok {
			class = -1
		}
		return []incomingPart{{sca: raw[:len(raw)-len(tpdu)], tpdu: tpdu, class: class}}, 1, nil
	}
	from, err := pdu.ParseAddress(in.From)
	if err != nil {
		return nil, 0, fmt.Errorf("device: incoming SMS sender: %w", err)
	}
	ref := uint16(d.rng.IntN(256))
	if in.Ref16 {
		ref = uint16(d.rng.IntN(65536))
	}
	var alpha pdu.Alphabet
	var uds []pdu.UserData
	switch in.Alphabet {
	case "":
		alpha, uds, err = pdu.SplitText(in.Text, ref, in.Ref16)
	case "gsm7":
		alpha, uds, err = pdu.SplitText(in.Text, ref, in.Ref16)
		if err == nil && alpha != pdu.AlphabetGSM7 {
			err = errors.New("text has characters outside the GSM 7-bit alphabet")
		}
	case "ucs2":
		alpha = pdu.AlphabetUCS2
		uds, err = pdu.SplitTextAs(in.Text, pdu.AlphabetUCS2, ref, in.Ref16)
	case "8bit":
		alpha = pdu.Alphabet8Bit
		uds, err = pdu.SplitData(in.Data, ref, in.Ref16)
	default:
		err = fmt.Errorf("unknown alphabet %q: want \"\", gsm7, ucs2 or 8bit", in.Alphabet)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("device: incoming SMS: %w", err)
	}
	class := -1
	if in.Flash {
		class = 0
	}
	ts := in.Time
	if ts.IsZero() {
		ts = d.clock()
	}
	sca, err := d.smscOctets(d.incomingSMSC())
	if err != nil {
		return nil, 0, err
	}
	order, err := deliveryOrder(in.Order, len(uds))
	if err != nil {
		return nil, 0, err
	}
	parts := make([]incomingPart, 0, len(uds))
	for _, i := range order {
		dl := pdu.Deliver{Originator: from, DCS: pdu.NewDCS(alpha, class), Timestamp: ts, UD: uds[i]}
		tpdu, err := dl.Encode()
		if err != nil {
			return nil, 0, fmt.Errorf("device: encoding part %d of incoming SMS: %w", i+1, err)
		}
		parts = append(parts, incomingPart{sca: sca, tpdu: tpdu, class: class})
	}
	return parts, len(uds), nil
}

// incomingSMSC is the service centre address put in front of received
// messages.
func (d *Device) incomingSMSC() string {
	if d.smsc != "" {
		return d.smsc
	}
	return DefaultSMSC
}

// smscOctets encodes an SMSC address as it precedes a TPDU.
func (d *Device) smscOctets(addr string) ([]byte, error) {
	if addr == "" {
		return []byte{0}, nil
	}
	a, err := pdu.ParseAddress(addr)
	if err != nil {
		return nil, fmt.Errorf("device: SMSC address: %w", err)
	}
	b, err := pdu.EncodeSMSC(a)
	if err != nil {
		return nil, fmt.Errorf("device: SMSC address: %w", err)
	}
	return b, nil
}

// deliveryOrder validates a 1-based order and returns 0-based indices.
// Every part must be in it at least once; a part listed again is
// delivered again (the network repeating a part, e.g. after a lost
// acknowledgement), so [3,1,3,2] delivers part 3 twice.
func deliveryOrder(order []int, n int) ([]int, error) {
	if order == nil {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	if len(order) < n || len(order) > 2*n {
		return nil, fmt.Errorf("device: delivery order %v has %d entries for %d parts: want %d to %d", order, len(order), n, n, 2*n)
	}
	seen := make([]bool, n)
	out := make([]int, len(order))
	for i, o := range order {
		if o < 1 || o > n {
			return nil, fmt.Errorf("device: delivery order %v: want parts 1..%d", order, n)
		}
		seen[o-1] = true
		out[i] = o - 1
	}
	for i, ok := range seen {
		if !ok {
			return nil, fmt.Errorf("device: delivery order %v: part %d is missing (each part 1..%d at least once)", order, i+1, n)
		}
	}
	return out, nil
}

type routing int

const (
	routedNot routing = iota
	routedStored
	routedDirect
)

// routeIncomingLocked delivers one part per +CNMI (27.005 §3.4.1): with
// <mt>=2 everything but class 2 goes to the TE as +CMT, with <mt>=3 class
// 3 does; everything else is stored in <mem3>, announced by +CMTI if <mt>
// is 1, 2 or 3. Class 0 is not special-cased: with <mt>=1 a flash SMS is
// stored and announced like any other. Device.mu must be held.
func (d *Device) routeIncomingLocked(p incomingPart) (routing, int) {
	s := d.sess
	if !d.registered(s) {
		return routedNot, -1
	}
	set := powerOnSettings()
	if s != nil {
		set = s.set
	}
	mt := set.cnmi[1]
	if s != nil && (mt == 2 && p.class != 2 || mt == 3 && p.class == 3) {
		u, err := s.cmtURC(p)
		if err == nil {
			s.smsURCLocked(u)
			return routedDirect, -1
		}
		d.log.Error("rendering +CMT, storing the SMS instead", "err", err)
	}
	mem := set.mem[2]
	idx := d.stores[mem].add(&storedMsg{kind: kindDeliver, stat: statRecUnread, sca: p.sca, tpdu: p.tpdu})
	if idx < 0 {
		return routedNot, -1
	}
	if s != nil && mt >= 1 {
		s.smsURCLocked(fmt.Sprintf("+CMTI: %q,%d", mem, idx))
	}
	return routedStored, idx
}

// retryWaitingLocked delivers the parts waiting in the network, in order,
// while they can be delivered, and the status reports held there.
// Device.mu must be held.
func (d *Device) retryWaitingLocked() {
	d.retryHeldReportsLocked()
	for len(d.waiting) > 0 {
		where, _ := d.routeIncomingLocked(d.waiting[0])
		if where == routedNot {
			return
		}
		d.waiting = d.waiting[1:]
	}
}

// cmtURC renders +CMT for a part: PDU mode "+CMT: ,<length>\r\n<pdu>", text
// mode "+CMT: <oa>,,<scts>[,...]\r\n<data>".
func (s *session) cmtURC(p incomingPart) (string, error) {
	if s.set.cmgf == 0 {
		return fmt.Sprintf("+CMT: ,%d\r\n%s", len(p.tpdu), upperHex(append(append([]byte(nil), p.sca...), p.tpdu...))), nil
	}
	m := &storedMsg{kind: kindDeliver, sca: p.sca, tpdu: p.tpdu}
	f, err := s.fields(m)
	if err != nil {
		return "", err
	}
	return "+CMT: " + s.cmgrHead(m, f) + "\r\n" + f.data, nil
}

// smsURCLocked queues an SMS-related URC, or buffers it while +CNMI
// <mode> is 0 (27.005: buffer in the TA). Device.mu must be held.
func (s *session) smsURCLocked(u string) {
	if s.set.cnmi[0] == 0 {
		s.cnmiBuf = append(s.cnmiBuf, u)
		return
	}
	s.queueURCLocked(u)
}
