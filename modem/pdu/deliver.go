package pdu

import "fmt"

// Encode encodes the SMS-DELIVER TPDU, without an SMSC address (prepend
// EncodeSMSC to show it as a modem does in +CMT/+CMGR). Errors are
// *EncodeError.
func (d *Deliver) Encode() ([]byte, error) {
	fo := byte(mtiDeliver)
	if !d.MoreMessagesToSend {
		fo |= flagMMS
	}
	if d.StatusReportIndication {
		fo |= flagSRI
	}
	if d.ReplyPath {
		fo |= flagRP
	}
	oa, err := encodeAddress(d.Originator)
	if err != nil {
		return nil, &EncodeError{Field: "TP-OA", Err: err}
	}
	ts, err := encodeTimestamp(d.Timestamp)
	if err != nil {
		return nil, &EncodeError{Field: "TP-SCTS", Err: err}
	}
	udl, ud, udhi, err := encodeUserData(d.UD, d.DCS.Alphabet())
	if err != nil {
		return nil, &EncodeError{Field: "TP-UD", Err: err}
	}
	if udhi {
		fo |= flagUDHI
	}
	out := make([]byte, 0, 1+len(oa)+2+len(ts)+1+len(ud))
	out = append(out, fo)
	out = append(out, oa...)
	out = append(out, d.PID, byte(d.DCS))
	out = append(out, ts...)
	out = append(out, udl)
	return append(out, ud...), nil
}

// DecodeDeliver decodes an SMS-DELIVER TPDU (no SMSC address in front; see
// SplitSMSC). Errors are *DecodeError.
func DecodeDeliver(b []byte) (*Deliver, error) {
	if len(b) > 0 && b[0]&0x03 != mtiDeliver {
		return nil, &DecodeError{Field: "TP-MTI", Err: fmt.Errorf("%w: %d, want %d (SMS-DELIVER)", ErrWrongType, b[0]&0x03, mtiDeliver)}
	}
	return decodeDeliver(b)
}

// decodeDeliver decodes an SMS-DELIVER layout whatever the TP-MTI.
func decodeDeliver(b []byte) (*Deliver, error) {
	r := &reader{b: b}
	fo, err := r.octet("first octet")
	if err != nil {
		return nil, err
	}
	d := &Deliver{
		MoreMessagesToSend:     fo&flagMMS == 0,
		StatusReportIndication: fo&flagSRI != 0,
		ReplyPath:              fo&flagRP != 0,
	}
	if d.Originator, err = decodeAddress(r, "TP-OA"); err != nil {
		return nil, err
	}
	if d.PID, err = r.octet("TP-PID"); err != nil {
		return nil, err
	}
	dcs, err := r.octet("TP-DCS")
	if err != nil {
		return nil, err
	}
	d.DCS = DCS(dcs)
	if d.Timestamp, err = readTimestamp(r, "TP-SCTS"); err != nil {
		return nil, err
	}
	if d.UD, err = decodeUserData(r, fo&flagUDHI != 0, d.DCS.Alphabet()); err != nil {
		return nil, err
	}
	return d, nil
}
