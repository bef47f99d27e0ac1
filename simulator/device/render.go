package device

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/sim-modem-api/sim-modem-api/modem/charset"
	"github.com/sim-modem-api/sim-modem-api/modem/gsm7"
	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
)

// statNames are the text mode <stat> values (27.005 §3.1).
var statNames = [...]string{"REC UNREAD", "REC READ", "STO UNSENT", "STO SENT"}

// upperHex renders b as upper-case hex, as modems show PDUs.
func upperHex(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

// scts renders a time stamp as text mode shows it: "yy/MM/dd,hh:mm:ss±zz",
// zz in quarters of an hour.
func scts(t time.Time) string {
	_, off := t.Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%02d/%02d/%02d,%02d:%02d:%02d%c%02d",
		t.Year()%100, int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second(), sign, off/900)
}

// toa is the type-of-address octet of a: 145 international, 129 unknown,
// 208 alphanumeric.
func toa(a pdu.Address) int {
	return 0x80 | int(a.TON&7)<<4 | int(a.NPI&15)
}

// udLayout computes TP-UDL and the number of TP-UD octets of decoded user
// data in the given alphabet.
func udLayout(alpha pdu.Alphabet, ud pdu.UserData) (udl, octets int) {
	hdr := 0
	if len(ud.Header) > 0 {
		hdr = 1
		for _, ie := range ud.Header {
			hdr += 2 + len(ie.Data)
		}
	}
	switch alpha {
	case pdu.AlphabetGSM7:
		n, _ := gsm7.Count(ud.Text)
		udl = (hdr*8+6)/7 + n
		return udl, (udl*7 + 7) / 8
	case pdu.AlphabetUCS2:
		udl = hdr + 2*len(utf16.Encode([]rune(ud.Text)))
	default:
		udl = hdr + len(ud.Data)
	}
	return udl, udl
}

// textData renders user data for text mode (27.005 §3.1 <data>): GSM 7-bit
// text without header in the TE character set; 8-bit, UCS-2 or any user
// data with a header as hex of the TP-UD octets. It also returns <length>,
// TP-UDL.
func (s *session) textData(tpdu []byte, dcs pdu.DCS, ud pdu.UserData) (data string, length int, err error) {
	alpha := dcs.Alphabet()
	udl, octets := udLayout(alpha, ud)
	if alpha == pdu.AlphabetGSM7 && len(ud.Header) == 0 {
		data, err = s.teEncode(ud.Text)
		return data, udl, err
	}
	if octets > len(tpdu) {
		return "", 0, fmt.Errorf("device: user data of %d octets in a TPDU of %d", octets, len(tpdu))
	}
	return upperHex(tpdu[len(tpdu)-octets:]), udl, nil
}

// teEncode converts text to the TE character set of +CSCS.
func (s *session) teEncode(text string) (string, error) {
	out, err := charset.Encode(s.set.cscs, text)
	if err != nil {
		return "", wrapf(err, "device: converting to %s", s.set.cscs)
	}
	return out, nil
}

// teDecode converts a string in the TE character set to UTF-8.
func (s *session) teDecode(te string) (string, error) {
	return charset.Decode(s.set.cscs, te)
}

// teAddress renders an address in the TE character set, quoted.
func (s *session) teAddress(a pdu.Address) (string, error) {
	t, err := s.teEncode(a.Number)
	return quote(t), err
}

// textFields are the parts of a message that text mode shows.
type textFields struct {
	addr   string // <oa>/<da>, quoted, in the TE character set
	toa    int
	scts   string // quoted; "" for an SMS-SUBMIT
	fo     int
	pid    int
	dcs    int
	vp     string // relative TP-VP of a submit, "" if none
	sca    string // quoted
	tosca  int
	length int
	data   string
}

// fields decodes a stored SMS-DELIVER or SMS-SUBMIT for text mode.
func (s *session) fields(m *storedMsg) (textFields, error) {
	var f textFields
	var addr pdu.Address
	var ud pdu.UserData
	var dcs pdu.DCS
	switch m.kind {
	case kindDeliver:
		dl, err := pdu.DecodeDeliver(m.tpdu)
		if err != nil {
			return f, wrapf(err, "device: stored SMS-DELIVER")
		}
		addr, ud, dcs, f.pid = dl.Originator, dl.UD, dl.DCS, int(dl.PID)
		f.scts = quote(scts(dl.Timestamp))
	case kindSubmit:
		sb, err := pdu.DecodeSubmit(m.tpdu)
		if err != nil {
			return f, wrapf(err, "device: stored SMS-SUBMIT")
		}
		addr, ud, dcs, f.pid = sb.Destination, sb.UD, sb.DCS, int(sb.PID)
		if sb.Validity > 0 {
			f.vp = itoa(vpCode(sb.Validity))
		}
	default:
		return f, errors.New("device: not an SMS-DELIVER or SMS-SUBMIT")
	}
	var err error
	if f.addr, err = s.teAddress(addr); err != nil {
		return f, err
	}
	f.toa, f.fo, f.dcs = toa(addr), int(m.tpdu[0]), int(dcs)
	if f.data, f.length, err = s.textData(m.tpdu, dcs, ud); err != nil {
		return f, err
	}
	if f.sca, f.tosca, err = s.scaFields(m.sca); err != nil {
		return f, err
	}
	return f, nil
}

// cmgrHead renders the +CMGR/+CMT fields after <stat> (27.005 §3.4.3,
// §3.4.1): SMS-DELIVER <oa>,[<alpha>],<scts>[,<tooa>,<fo>,<pid>,<dcs>,<sca>,<tosca>,<length>];
// SMS-SUBMIT <da>,[<alpha>][,<toda>,<fo>,<pid>,<dcs>,[<vp>],<sca>,<tosca>,<length>].
func (s *session) cmgrHead(m *storedMsg, f textFields) string {
	if m.kind == kindDeliver {
		h := f.addr + ",," + f.scts
		if s.set.csdh == 1 {
			h += fmt.Sprintf(",%d,%d,%d,%d,%s,%d,%d", f.toa, f.fo, f.pid, f.dcs, f.sca, f.tosca, f.length)
		}
		return h
	}
	h := f.addr + ","
	if s.set.csdh == 1 {
		h += fmt.Sprintf(",%d,%d,%d,%d,%s,%s,%d,%d", f.toa, f.fo, f.pid, f.dcs, f.vp, f.sca, f.tosca, f.length)
	}
	return h
}

// cmglHead renders the +CMGL fields after <stat> (27.005 §3.4.2):
// <oa/da>,[<alpha>],[<scts>][,<tooa/toda>,<length>].
func (s *session) cmglHead(f textFields) string {
	h := f.addr + ",," + f.scts
	if s.set.csdh == 1 {
		h += fmt.Sprintf(",%d,%d", f.toa, f.length)
	}
	return h
}

// renderStatusText renders an SMS-STATUS-REPORT for text mode:
// <fo>,<mr>,[<ra>],[<tora>],<scts>,<dt>,<st>.
func (s *session) renderStatusText(tpdu []byte) (string, error) {
	sr, err := pdu.DecodeStatusReport(tpdu)
	if err != nil {
		return "", wrapf(err, "device: stored SMS-STATUS-REPORT")
	}
	ra, err := s.teAddress(sr.Recipient)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d,%d,%s,%d,%s,%s,%d", tpdu[0], sr.MessageRef, ra, toa(sr.Recipient),
		quote(scts(sr.SCTimestamp)), quote(scts(sr.DischargeTime)), sr.Status), nil
}

// scaFields renders the SMSC part of a stored message as <sca>,<tosca>.
func (s *session) scaFields(sca []byte) (string, int, error) {
	a, _, err := pdu.SplitSMSC(sca)
	if err != nil {
		return "", 0, wrapf(err, "device: stored SMSC address")
	}
	if a.Number == "" {
		return `""`, 129, nil
	}
	q, err := s.teAddress(a)
	return q, toa(a), err
}

// vpCode is the relative TP-VP octet for a validity period (TS 23.040
// §9.2.3.12.1), the value +CSMP shows.
func vpCode(d time.Duration) int {
	d = pdu.RelativeValidity(d)
	switch {
	case d <= 12*time.Hour:
		return int(d/(5*time.Minute)) - 1
	case d <= 24*time.Hour:
		return 143 + int((d-12*time.Hour)/(30*time.Minute))
	case d <= 30*24*time.Hour:
		return 166 + int(d/(24*time.Hour))
	}
	return 192 + int(d/(7*24*time.Hour))
}

// vpDuration is the validity period of a relative TP-VP octet.
func vpDuration(code int) time.Duration {
	switch {
	case code <= 143:
		return time.Duration(code+1) * 5 * time.Minute
	case code <= 167:
		return 12*time.Hour + time.Duration(code-143)*30*time.Minute
	case code <= 196:
		return time.Duration(code-166) * 24 * time.Hour
	}
	return time.Duration(code-192) * 7 * 24 * time.Hour
}

// alphabetName names an alphabet as the control API does.
func alphabetName(a pdu.Alphabet) string {
	switch a {
	case pdu.AlphabetGSM7:
		return "gsm7"
	case pdu.AlphabetUCS2:
		return "ucs2"
	}
	return "8bit"
}

// gsm7Len counts the septets of text in the GSM 7-bit alphabet; ok is
// false if a character is not in it.
func gsm7Len(text string) (int, bool) { return gsm7.Count(text) }

// hexUCS2 decodes UCS-2 hex (four digits per UTF-16 code unit).
func (s *session) hexUCS2(body []byte) (string, error) {
	return charset.Decode(charset.UCS2, string(body))
}
