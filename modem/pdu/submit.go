package pdu

import "fmt"

// TP-MTI values (TS 23.040 §9.2.3.1), bits 1-0 of the first octet.
const (
	mtiDeliver      = 0x00 // SMS-DELIVER (SC→MS), SMS-DELIVER-REPORT (MS→SC)
	mtiSubmit       = 0x01 // SMS-SUBMIT (MS→SC), SMS-SUBMIT-REPORT (SC→MS)
	mtiStatusReport = 0x02 // SMS-STATUS-REPORT (SC→MS), SMS-COMMAND (MS→SC)
	mtiReserved     = 0x03
)

// First-octet flags shared by several TPDUs.
const (
	flagRD   = 0x04 // SMS-SUBMIT: TP-Reject-Duplicates
	flagMMS  = 0x04 // SMS-DELIVER, SMS-STATUS-REPORT: TP-More-Messages-to-Send, 1 = no more
	flagSRR  = 0x20 // SMS-SUBMIT: TP-Status-Report-Request
	flagSRI  = 0x20 // SMS-DELIVER: TP-Status-Report-Indication
	flagSRQ  = 0x20 // SMS-STATUS-REPORT: TP-Status-Report-Qualifier
	flagUDHI = 0x40 // TP-User-Data-Header-Indicator
	flagRP   = 0x80 // TP-Reply-Path
)

// Encode encodes the SMS-SUBMIT TPDU, without the SMSC address (prepend
// EncodeSMSC for AT+CMGS in PDU mode; the AT+CMGS length is len of this
// result). TP-UDHI is set when s.UD has a header. Errors are *EncodeError.
func (s *Submit) Encode() ([]byte, error) {
	fo := byte(mtiSubmit)
	if s.RejectDuplicates {
		fo |= flagRD
	}
	if s.StatusReportRequest {
		fo |= flagSRR
	}
	if s.ReplyPath {
		fo |= flagRP
	}
	var vp []byte
	set := 0
	if s.Validity > 0 {
		set++
		fo |= vpfRelative
		vp = []byte{encodeRelativeValidity(s.Validity)}
	}
	if !s.ValidityAbsolute.IsZero() {
		set++
		fo |= vpfAbsolute
		ts, err := encodeTimestamp(s.ValidityAbsolute)
		if err != nil {
			return nil, &EncodeError{Field: "TP-VP (absolute)", Err: err}
		}
		vp = ts
	}
	if s.ValidityEnhanced != nil {
		set++
		fo |= vpfEnhanced
		if len(s.ValidityEnhanced) != 7 {
			return nil, &EncodeError{Field: "TP-VP (enhanced)", Err: fmt.Errorf("%w: %d octets, want 7", ErrInvalid, len(s.ValidityEnhanced))}
		}
		vp = s.ValidityEnhanced
	}
	if set > 1 {
		return nil, &EncodeError{Field: "TP-VP", Err: fmt.Errorf("%w: more than one of Validity, ValidityAbsolute, ValidityEnhanced set", ErrInvalid)}
	}
	if s.Validity < 0 {
		return nil, &EncodeError{Field: "TP-VP", Err: fmt.Errorf("%w: negative validity %v", ErrInvalid, s.Validity)}
	}
	da, err := encodeAddress(s.Destination)
	if err != nil {
		return nil, &EncodeError{Field: "TP-DA", Err: err}
	}
	udl, ud, udhi, err := encodeUserData(s.UD, s.DCS.Alphabet())
	if err != nil {
		return nil, &EncodeError{Field: "TP-UD", Err: err}
	}
	if udhi {
		fo |= flagUDHI
	}
	out := make([]byte, 0, 2+len(da)+2+len(vp)+1+len(ud))
	out = append(out, fo, s.MessageRef)
	out = append(out, da...)
	out = append(out, s.PID, byte(s.DCS))
	out = append(out, vp...)
	out = append(out, udl)
	return append(out, ud...), nil
}

// DecodeSubmit decodes an SMS-SUBMIT TPDU (no SMSC address in front; see
// SplitSMSC). All four validity period formats are accepted. Errors are
// *DecodeError.
func DecodeSubmit(b []byte) (*Submit, error) {
	r := &reader{b: b}
	fo, err := r.octet("first octet")
	if err != nil {
		return nil, err
	}
	if fo&0x03 != mtiSubmit {
		return nil, r.failAt("TP-MTI", 0, fmt.Errorf("%w: %d, want %d (SMS-SUBMIT)", ErrWrongType, fo&0x03, mtiSubmit))
	}
	s := &Submit{
		RejectDuplicates:    fo&flagRD != 0,
		StatusReportRequest: fo&flagSRR != 0,
		ReplyPath:           fo&flagRP != 0,
	}
	if s.MessageRef, err = r.octet("TP-MR"); err != nil {
		return nil, err
	}
	if s.Destination, err = decodeAddress(r, "TP-DA"); err != nil {
		return nil, err
	}
	if s.PID, err = r.octet("TP-PID"); err != nil {
		return nil, err
	}
	dcs, err := r.octet("TP-DCS")
	if err != nil {
		return nil, err
	}
	s.DCS = DCS(dcs)
	switch fo & 0x18 {
	case vpfRelative:
		vp, err := r.octet("TP-VP")
		if err != nil {
			return nil, err
		}
		s.Validity = relativeValidity(vp)
	case vpfAbsolute:
		if s.ValidityAbsolute, err = readTimestamp(r, "TP-VP"); err != nil {
			return nil, err
		}
	case vpfEnhanced:
		vp, err := r.take("TP-VP", 7)
		if err != nil {
			return nil, err
		}
		s.ValidityEnhanced = append([]byte{}, vp...)
	}
	if s.UD, err = decodeUserData(r, fo&flagUDHI != 0, s.DCS.Alphabet()); err != nil {
		return nil, err
	}
	return s, nil
}
