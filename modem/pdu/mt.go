package pdu

import "fmt"

// DecodeMT decodes a mobile-terminated TPDU (no SMSC address in front; see
// SplitSMSC) by its TP-MTI: *Deliver for SMS-DELIVER, *StatusReport for
// SMS-STATUS-REPORT. A reserved TP-MTI (3) is decoded as an SMS-DELIVER, as
// TS 23.040 §9.2.3.1 asks. SMS-SUBMIT-REPORT is not supported and gives an
// error wrapping ErrWrongType.
func DecodeMT(b []byte) (any, error) {
	if len(b) == 0 {
		return nil, &DecodeError{Field: "first octet", Err: ErrTruncated}
	}
	switch b[0] & 0x03 {
	case mtiDeliver, mtiReserved:
		return decodeDeliver(b)
	case mtiStatusReport:
		return DecodeStatusReport(b)
	default:
		return nil, &DecodeError{Field: "TP-MTI", Err: fmt.Errorf("%w: SMS-SUBMIT-REPORT (1) is not supported", ErrWrongType)}
	}
}
