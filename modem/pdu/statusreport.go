package pdu

import "fmt"

// TP-Parameter-Indicator bits (TS 23.040 §9.2.3.27).
const (
	piPID       = 0x01
	piDCS       = 0x02
	piUDL       = 0x04
	piExtension = 0x80
)

// Encode encodes the SMS-STATUS-REPORT TPDU, without an SMSC address
// (prepend EncodeSMSC to show it as a modem does in +CDS). TP-PI and the
// optional fields follow TP-ST only if HasPID, HasDCS or HasUD is set.
// Errors are *EncodeError.
func (s *StatusReport) Encode() ([]byte, error) {
	fo := byte(mtiStatusReport)
	if !s.MoreMessagesToSend {
		fo |= flagMMS
	}
	if s.Qualifier {
		fo |= flagSRQ
	}
	ra, err := encodeAddress(s.Recipient)
	if err != nil {
		return nil, &EncodeError{Field: "TP-RA", Err: err}
	}
	scts, err := encodeTimestamp(s.SCTimestamp)
	if err != nil {
		return nil, &EncodeError{Field: "TP-SCTS", Err: err}
	}
	dt, err := encodeTimestamp(s.DischargeTime)
	if err != nil {
		return nil, &EncodeError{Field: "TP-DT", Err: err}
	}
	out := []byte{fo, s.MessageRef}
	out = append(out, ra...)
	out = append(out, scts...)
	out = append(out, dt...)
	out = append(out, s.Status)
	if !s.HasPID && !s.HasDCS && !s.HasUD {
		return out, nil
	}
	var pi byte
	var opt []byte
	if s.HasPID {
		pi |= piPID
		opt = append(opt, s.PID)
	}
	if s.HasDCS {
		pi |= piDCS
		opt = append(opt, byte(s.DCS))
	}
	if s.HasUD {
		pi |= piUDL
		udl, ud, udhi, err := encodeUserData(s.UD, s.dcs().Alphabet())
		if err != nil {
			return nil, &EncodeError{Field: "TP-UD", Err: err}
		}
		if udhi {
			out[0] |= flagUDHI
		}
		opt = append(opt, udl)
		opt = append(opt, ud...)
	}
	out = append(out, pi)
	return append(out, opt...), nil
}

// dcs returns the DCS that applies to the user data.
func (s *StatusReport) dcs() DCS {
	if s.HasDCS {
		return s.DCS
	}
	return 0
}

// DecodeStatusReport decodes an SMS-STATUS-REPORT TPDU (no SMSC address in
// front; see SplitSMSC), including the optional TP-PI, TP-PID, TP-DCS and
// TP-UD. Further TP-PI octets (extension bit set) are skipped. Errors are
// *DecodeError.
func DecodeStatusReport(b []byte) (*StatusReport, error) {
	r := &reader{b: b}
	fo, err := r.octet("first octet")
	if err != nil {
		return nil, err
	}
	if fo&0x03 != mtiStatusReport {
		return nil, r.failAt("TP-MTI", 0, fmt.Errorf("%w: %d, want %d (SMS-STATUS-REPORT)", ErrWrongType, fo&0x03, mtiStatusReport))
	}
	s := &StatusReport{
		MoreMessagesToSend: fo&flagMMS == 0,
		Qualifier:          fo&flagSRQ != 0,
	}
	if s.MessageRef, err = r.octet("TP-MR"); err != nil {
		return nil, err
	}
	if s.Recipient, err = decodeAddress(r, "TP-RA"); err != nil {
		return nil, err
	}
	if s.SCTimestamp, err = readTimestamp(r, "TP-SCTS"); err != nil {
		return nil, err
	}
	if s.DischargeTime, err = readTimestamp(r, "TP-DT"); err != nil {
		return nil, err
	}
	if s.Status, err = r.octet("TP-ST"); err != nil {
		return nil, err
	}
	if r.remaining() == 0 {
		return s, nil
	}
	pi, err := r.octet("TP-PI")
	if err != nil {
		return nil, err
	}
	for ext := pi; ext&piExtension != 0; {
		if ext, err = r.octet("TP-PI extension"); err != nil {
			return nil, err
		}
	}
	if pi&piPID != 0 {
		s.HasPID = true
		if s.PID, err = r.octet("TP-PID"); err != nil {
			return nil, err
		}
	}
	if pi&piDCS != 0 {
		s.HasDCS = true
		dcs, err := r.octet("TP-DCS")
		if err != nil {
			return nil, err
		}
		s.DCS = DCS(dcs)
	}
	if pi&piUDL != 0 {
		s.HasUD = true
		if s.UD, err = decodeUserData(r, fo&flagUDHI != 0, s.dcs().Alphabet()); err != nil {
			return nil, err
		}
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	return s, nil
}
