package device

import (
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
	"github.com/sim-modem-api/sim-modem-api/simulator/atcmd"
)

func registerSMSCommands() {
	for name, h := range map[string]handler{
		"+CMGF": cmdCMGF, "+CSCA": cmdCSCA, "+CSMP": cmdCSMP, "+CSDH": cmdCSDH,
		"+CPMS": cmdCPMS, "+CNMI": cmdCNMI, "+CSMS": cmdCSMS, "+CNMA": cmdCNMA,
		"+CMGS": cmdCMGS, "+CMGW": cmdCMGW, "+CMSS": cmdCMSS,
		"+CMGR": cmdCMGR, "+CMGL": cmdCMGL, "+CMGD": cmdCMGD,
	} {
		handlers[name] = h
	}
}

// decodePDUBody parses the hex entered after the prompt in PDU mode: the
// SMSC part and a TPDU of exactly length octets (27.005 §3.5.1), else
// +CMS ERROR: 304.
func decodePDUBody(body []byte, length int) (sca, tpdu []byte, err error) {
	raw, err := hex.DecodeString(strings.TrimSpace(string(body)))
	if err != nil {
		return nil, nil, cms(cmsBadPDUParam)
	}
	if _, tpdu, err = pdu.SplitSMSC(raw); err != nil || len(tpdu) != length {
		return nil, nil, cms(cmsBadPDUParam)
	}
	return raw[:len(raw)-len(tpdu)], tpdu, nil
}

// smsAction is the common start of the SMS commands that act on a message
// (+CMGS, +CMGW, +CMSS, +CMGR): the test form answers OK, a form not in
// forms is an unknown command, and the SIM must be ready. It reports
// whether the command goes on; when not, err is its answer (nil: OK).
func smsAction(s *session, c atcmd.Command, forms ...atcmd.Form) (bool, error) {
	if c.Form == atcmd.Test {
		return false, nil
	}
	if !slices.Contains(forms, c.Form) {
		return false, errUnknown
	}
	if err := s.d.sim.readyCMS(); err != nil {
		return false, err
	}
	return true, nil
}

// cmdCMGS: send. PDU mode AT+CMGS=<length>, text mode
// AT+CMGS=<da>[,<toda>]; then the "> " prompt; Ctrl-Z sends and answers
// "+CMGS: <mr>", ESC cancels with OK; test form OK.
func cmdCMGS(s *session, c atcmd.Command) ([]string, error) {
	if ok, err := smsAction(s, c, atcmd.Set); !ok {
		return nil, err
	}
	if s.set.cmgf == 0 {
		ps, err := params(c, 1, 1)
		if err != nil {
			return nil, err
		}
		length, err := intParam(ps, 0, 1, 164, 0)
		if err != nil {
			return nil, err
		}
		s.prompt = &prompt{pdu: true, submit: func(s *session, body []byte) ([]string, error) {
			sca, tpdu, err := decodePDUBody(body, length)
			if err != nil {
				return nil, err
			}
			mr, err := s.submitLocked(sca, tpdu, "pdu")
			if err != nil {
				return nil, err
			}
			return []string{fmt.Sprintf("+CMGS: %d", mr)}, nil
		}}
		return nil, nil
	}
	da, err := s.textDestination(c, false)
	if err != nil {
		return nil, err
	}
	s.prompt = &prompt{submit: func(s *session, body []byte) ([]string, error) {
		tpdu, err := s.textSubmit(da, body)
		if err != nil {
			return nil, err
		}
		mr, err := s.submitLocked([]byte{0}, tpdu, "text")
		if err != nil {
			return nil, err
		}
		return []string{fmt.Sprintf("+CMGS: %d", mr)}, nil
	}}
	return nil, nil
}

// textDest is the destination of a text mode command and the <stat> of
// AT+CMGW.
type textDest struct {
	addr pdu.Address
	stat int
}

// textDestination parses <da>[,<toda>[,<stat>]] of text mode AT+CMGS and
// AT+CMGW (withStat); <da> is in the TE character set.
func (s *session) textDestination(c atcmd.Command, withStat bool) (textDest, error) {
	max := 2
	if withStat {
		max = 3
	}
	ps, err := params(c, 0, max)
	if err != nil {
		return textDest{}, err
	}
	dest := textDest{stat: statStoUnsent}
	if len(ps) == 0 {
		if !withStat {
			return dest, errParams
		}
		return dest, nil
	}
	if !ps[0].Quoted {
		return dest, errParams
	}
	num, err := s.teDecode(ps[0].Value)
	if err != nil {
		return dest, cms(cmsBadTextParam)
	}
	toda, err := intParam(ps, 1, 128, 255, 0)
	if err != nil {
		return dest, err
	}
	if toda == 145 && !strings.HasPrefix(num, "+") {
		num = "+" + num
	}
	if dest.addr, err = pdu.ParseAddress(num); err != nil {
		return dest, cms(cmsBadTextParam)
	}
	if withStat && len(ps) > 2 {
		switch upper(ps[2].Value) {
		case "STO UNSENT", "2":
			dest.stat = statStoUnsent
		case "STO SENT", "3":
			dest.stat = statStoSent
		default:
			return dest, errParams
		}
	}
	return dest, nil
}

// textSubmit builds the SMS-SUBMIT of a text mode command from the +CSMP
// settings and the text entered in the TE character set (hex octets if
// <dcs> says 8-bit or UCS-2, 27.005 §3.5.1). Text that does not fit one
// SMS, or user data headers (TP-UDHI in <fo>), give +CMS ERROR: 305.
func (s *session) textSubmit(da textDest, body []byte) ([]byte, error) {
	fo, vp, pid, dcs := s.set.csmp[0], s.set.csmp[1], s.set.csmp[2], pdu.DCS(s.set.csmp[3])
	bad := cms(cmsBadTextParam)
	if fo&0x40 != 0 {
		return nil, bad
	}
	sb := pdu.Submit{
		RejectDuplicates:    fo&0x04 != 0,
		ReplyPath:           fo&0x80 != 0,
		StatusReportRequest: fo&0x20 != 0,
		Destination:         da.addr,
		PID:                 byte(pid),
		DCS:                 dcs,
	}
	if fo&0x18 == 0x10 {
		sb.Validity = vpDuration(vp)
	}
	var err error
	switch dcs.Alphabet() {
	case pdu.AlphabetGSM7:
		sb.UD.Text, err = s.teDecode(string(body))
		if n, ok := gsm7Len(sb.UD.Text); err != nil || !ok || n > 160 {
			return nil, bad
		}
	case pdu.AlphabetUCS2:
		sb.UD.Text, err = s.hexUCS2(body)
		if err != nil || len([]rune(sb.UD.Text)) > 70 {
			return nil, bad
		}
	default:
		sb.UD.Data, err = hex.DecodeString(string(body))
		if err != nil || len(sb.UD.Data) > 140 {
			return nil, bad
		}
	}
	tpdu, err := sb.Encode()
	if err != nil {
		s.d.log.Info("text mode SMS-SUBMIT", "err", err)
		return nil, bad
	}
	return tpdu, nil
}

// cmdCMGW: write to <mem2>. PDU mode AT+CMGW=<length>[,<stat>] (stat
// default 2), text mode AT+CMGW[=<da>[,<toda>[,<stat>]]]; then the prompt;
// answers "+CMGW: <index>", +CMS ERROR: 322 if the store is full.
func cmdCMGW(s *session, c atcmd.Command) ([]string, error) {
	if ok, err := smsAction(s, c, atcmd.Set, atcmd.Exec); !ok {
		return nil, err
	}
	if s.set.cmgf == 0 {
		ps, err := params(c, 1, 2)
		if err != nil {
			return nil, err
		}
		length, err := intParam(ps, 0, 1, 164, 0)
		if err != nil {
			return nil, err
		}
		stat, err := intParam(ps, 1, 0, 3, statStoUnsent)
		if err != nil {
			return nil, err
		}
		s.prompt = &prompt{pdu: true, submit: func(s *session, body []byte) ([]string, error) {
			sca, tpdu, err := decodePDUBody(body, length)
			if err != nil {
				return nil, err
			}
			kind := kindSubmit
			if stat <= statRecRead {
				kind = kindDeliver
				_, err = pdu.DecodeDeliver(tpdu)
			} else {
				_, err = pdu.DecodeSubmit(tpdu)
			}
			if err != nil {
				return nil, cms(cmsBadPDUParam)
			}
			return s.writeStoreLocked(&storedMsg{kind: kind, stat: stat, sca: sca, tpdu: tpdu})
		}}
		return nil, nil
	}
	da, err := s.textDestination(c, true)
	if err != nil {
		return nil, err
	}
	s.prompt = &prompt{submit: func(s *session, body []byte) ([]string, error) {
		tpdu, err := s.textSubmit(da, body)
		if err != nil {
			return nil, err
		}
		return s.writeStoreLocked(&storedMsg{kind: kindSubmit, stat: da.stat, sca: []byte{0}, tpdu: tpdu})
	}}
	return nil, nil
}

func (s *session) writeStoreLocked(m *storedMsg) ([]string, error) {
	idx := s.d.stores[s.set.mem[1]].add(m)
	if idx < 0 {
		return nil, cms(cmsMemoryFull)
	}
	return []string{fmt.Sprintf("+CMGW: %d", idx)}, nil
}

// cmdCMSS: AT+CMSS=<index>[,<da>[,<toda>]] sends a stored SMS-SUBMIT from
// <mem2>, marks it "STO SENT" and answers "+CMSS: <mr>".
func cmdCMSS(s *session, c atcmd.Command) ([]string, error) {
	if ok, err := smsAction(s, c, atcmd.Set); !ok {
		return nil, err
	}
	d := s.d
	ps, err := params(c, 1, 3)
	if err != nil {
		return nil, err
	}
	idx, err := intParam(ps, 0, 0, 1000, 0)
	if err != nil {
		return nil, err
	}
	m, ok := d.stores[s.set.mem[1]].get(idx)
	if !ok || m == nil {
		return nil, cms(cmsInvalidIndex)
	}
	if m.kind != kindSubmit {
		return nil, cms(cmsNotAllowed)
	}
	tpdu := m.tpdu
	mode := "pdu"
	if len(ps) > 1 {
		da, err := s.textDestination(atcmd.Command{Args: joinParams(ps[1:])}, false)
		if err != nil {
			return nil, err
		}
		sb, err := pdu.DecodeSubmit(m.tpdu)
		if err != nil {
			return nil, cms(cmsBadPDUParam)
		}
		sb.Destination = da.addr
		if tpdu, err = sb.Encode(); err != nil {
			return nil, cms(cmsBadPDUParam)
		}
	}
	if s.set.cmgf == 1 {
		mode = "text"
	}
	mr, err := s.submitLocked(m.sca, tpdu, mode)
	if err != nil {
		return nil, err
	}
	m.stat = statStoSent
	return []string{fmt.Sprintf("+CMSS: %d", mr)}, nil
}

// joinParams renders parameters back to argument text.
func joinParams(ps []atcmd.Param) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		if p.Quoted {
			parts[i] = quote(p.Value)
		} else {
			parts[i] = p.Value
		}
	}
	return strings.Join(parts, ",")
}

// cmdCMGR: AT+CMGR=<index> reads from <mem1>. PDU mode
// "+CMGR: <stat>,,<length>" and the PDU line; text mode per message type
// and +CSDH. An unread message is marked read (the response shows the
// status before reading). Empty or out of range: +CMS ERROR: 321.
func cmdCMGR(s *session, c atcmd.Command) ([]string, error) {
	if ok, err := smsAction(s, c, atcmd.Set); !ok {
		return nil, err
	}
	ps, err := params(c, 1, 1)
	if err != nil {
		return nil, err
	}
	idx, err := intParam(ps, 0, 0, 100000, 0)
	if err != nil {
		return nil, err
	}
	m, ok := s.d.stores[s.set.mem[0]].get(idx)
	if !ok || m == nil {
		return nil, cms(cmsInvalidIndex)
	}
	var lines []string
	if s.set.cmgf == 0 {
		lines = []string{fmt.Sprintf("+CMGR: %d,,%d", m.stat, len(m.tpdu)), upperHex(append(append([]byte(nil), m.sca...), m.tpdu...))}
	} else if m.kind == kindStatus {
		t, err := s.renderStatusText(m.tpdu)
		if err != nil {
			return nil, cms(cmsMEFailure)
		}
		lines = []string{fmt.Sprintf("+CMGR: %q,%s", statNames[m.stat], t)}
	} else {
		f, err := s.fields(m)
		if err != nil {
			s.d.log.Error("rendering stored message", "err", err)
			return nil, cms(cmsMEFailure)
		}
		lines = []string{fmt.Sprintf("+CMGR: %q,%s", statNames[m.stat], s.cmgrHead(m, f)), f.data}
	}
	if m.stat == statRecUnread {
		m.stat = statRecRead
	}
	return lines, nil
}

// cmdCMGL: list <mem1>. PDU mode AT+CMGL[=<stat>] with stat 0..4 (default
// 0), "+CMGL: <index>,<stat>,,<length>" and the PDU line per message;
// text mode with "REC UNREAD", "REC READ", "STO UNSENT", "STO SENT",
// "ALL" (default "REC UNREAD"). Listed unread messages become read. An
// empty list answers just OK.
func cmdCMGL(s *session, c atcmd.Command) ([]string, error) {
	if c.Form == atcmd.Test {
		if s.set.cmgf == 0 {
			return []string{"+CMGL: (0-4)"}, nil
		}
		return []string{`+CMGL: ("REC UNREAD","REC READ","STO UNSENT","STO SENT","ALL")`}, nil
	}
	if c.Form != atcmd.Set && c.Form != atcmd.Exec {
		return nil, errUnknown
	}
	if err := s.d.sim.readyCMS(); err != nil {
		return nil, err
	}
	ps, err := params(c, 0, 1)
	if err != nil {
		return nil, err
	}
	want := statRecUnread
	if len(ps) == 1 {
		if s.set.cmgf == 0 {
			if want, err = intParam(ps, 0, 0, 4, 0); err != nil {
				return nil, err
			}
		} else {
			want = -1
			for i, n := range append(statNames[:], "ALL") {
				if ps[0].Quoted && upper(ps[0].Value) == n {
					want = i
				}
			}
			if want < 0 {
				return nil, errParams
			}
		}
	}
	st := s.d.stores[s.set.mem[0]]
	var lines []string
	var listed []*storedMsg
	for i, m := range st.slots {
		if m == nil || want != 4 && m.stat != want {
			continue
		}
		if s.set.cmgf == 0 {
			lines = append(lines, fmt.Sprintf("+CMGL: %d,%d,,%d", i, m.stat, len(m.tpdu)), upperHex(append(append([]byte(nil), m.sca...), m.tpdu...)))
		} else if m.kind == kindStatus {
			t, err := s.renderStatusText(m.tpdu)
			if err != nil {
				return nil, cms(cmsMEFailure)
			}
			lines = append(lines, fmt.Sprintf("+CMGL: %d,%q,%s", i, statNames[m.stat], t))
		} else {
			f, err := s.fields(m)
			if err != nil {
				s.d.log.Error("rendering stored message", "err", err)
				return nil, cms(cmsMEFailure)
			}
			lines = append(lines, fmt.Sprintf("+CMGL: %d,%q,%s", i, statNames[m.stat], s.cmglHead(f)), f.data)
		}
		listed = append(listed, m)
	}
	for _, m := range listed {
		if m.stat == statRecUnread {
			m.stat = statRecRead
		}
	}
	return lines, nil
}

// cmdCMGD: AT+CMGD=<index>[,<delflag>] deletes from <mem1>: delflag 0 the
// index (an empty index is OK, out of range +CMS ERROR: 321), 1 all read,
// 2 read and sent, 3 read, sent and unsent, 4 all. Freed space lets
// waiting messages in. Test: "+CMGD: (<used indices>),(0-4)".
func cmdCMGD(s *session, c atcmd.Command) ([]string, error) {
	d := s.d
	if err := d.sim.readyCMS(); err != nil {
		return nil, err
	}
	st := d.stores[s.set.mem[0]]
	switch c.Form {
	case atcmd.Test:
		var used []string
		for i, m := range st.slots {
			if m != nil {
				used = append(used, itoa(i))
			}
		}
		return []string{"+CMGD: (" + strings.Join(used, ",") + "),(0-4)"}, nil
	case atcmd.Set:
	default:
		return nil, errUnknown
	}
	ps, err := params(c, 1, 2)
	if err != nil {
		return nil, err
	}
	flag, err := intParam(ps, 1, 0, 4, 0)
	if err != nil {
		return nil, err
	}
	if flag == 0 {
		idx, err := intParam(ps, 0, 0, 100000, 0)
		if err != nil {
			return nil, err
		}
		if _, ok := st.get(idx); !ok {
			return nil, cms(cmsInvalidIndex)
		}
		st.remove(idx)
	} else {
		del := map[int][]int{1: {statRecRead}, 2: {statRecRead, statStoSent}, 3: {statRecRead, statStoSent, statStoUnsent}}[flag]
		for i, m := range st.slots {
			if m != nil && (flag == 4 || containsInt(del, m.stat)) {
				st.remove(i)
			}
		}
	}
	d.retryWaitingLocked()
	return nil, nil
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Messages returns the messages in a store ("SM", "ME" or "SR"), by index.
func (d *Device) Messages(storeName string) ([]StoredSMS, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st, ok := d.stores[upper(storeName)]
	if !ok {
		return nil, fmt.Errorf("device: unknown store %q: want SM, ME or SR", storeName)
	}
	var out []StoredSMS
	for i, m := range st.slots {
		if m == nil {
			continue
		}
		out = append(out, describeStored(st.name, i, m))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out, nil
}

// describeStored decodes a stored message for the control API.
func describeStored(storeName string, i int, m *storedMsg) StoredSMS {
	sm := StoredSMS{Store: storeName, Index: i, Stat: m.stat, PDU: upperHex(append(append([]byte(nil), m.sca...), m.tpdu...))}
	switch m.kind {
	case kindDeliver:
		if dl, err := pdu.DecodeDeliver(m.tpdu); err == nil {
			sm.From, sm.Text = dl.Originator.Number, udText(dl.DCS, dl.UD)
		}
	case kindSubmit:
		if sb, err := pdu.DecodeSubmit(m.tpdu); err == nil {
			sm.From, sm.Text = sb.Destination.Number, udText(sb.DCS, sb.UD)
		}
	case kindStatus:
		if sr, err := pdu.DecodeStatusReport(m.tpdu); err == nil {
			sm.From, sm.Text = sr.Recipient.Number, pdu.StatusText(sr.Status)
		}
	}
	return sm
}

func udText(dcs pdu.DCS, ud pdu.UserData) string {
	if dcs.Alphabet() == pdu.Alphabet8Bit {
		return upperHex(ud.Data)
	}
	return ud.Text
}
