package pdu

import "fmt"

// TP-Status values (TS 23.040 §9.2.3.15).
const (
	// Short message transaction completed.
	StatusReceived    byte = 0x00 // received by the SME
	StatusForwarded   byte = 0x01 // forwarded to the SME, delivery not confirmable
	StatusReplaced    byte = 0x02 // replaced by the SC
	StatusCongestion  byte = 0x20 // temporary error, SC still trying: congestion
	StatusSMEBusy     byte = 0x21 // … SME busy
	StatusNoResponse  byte = 0x22 // … no response from SME
	StatusRejected    byte = 0x23 // … service rejected
	StatusQoSNotAvail byte = 0x24 // … quality of service not available
	StatusSMEError    byte = 0x25 // … error in SME

	// Permanent errors, the SC is not making any more transfer attempts.
	StatusRemoteProcedureError  byte = 0x40
	StatusIncompatibleDest      byte = 0x41
	StatusConnectionRejected    byte = 0x42
	StatusNotObtainable         byte = 0x43
	StatusPermQoSNotAvail       byte = 0x44
	StatusNoInterworking        byte = 0x45
	StatusValidityExpired       byte = 0x46
	StatusDeletedByOriginator   byte = 0x47
	StatusDeletedByAdmin        byte = 0x48
	StatusMessageDoesNotExist   byte = 0x49
	StatusTempCongestionFinal   byte = 0x60 // temporary error, SC not trying any more: congestion
	StatusTempSMEBusyFinal      byte = 0x61 // … SME busy
	StatusTempNoResponseFinal   byte = 0x62 // … no response from SME
	StatusTempRejectedFinal     byte = 0x63 // … service rejected
	StatusTempQoSNotAvailFinal  byte = 0x64 // … quality of service not available
	StatusTempSMEErrorFinal     byte = 0x65 // … error in SME
	statusGroupMask             byte = 0x60
	statusGroupCompleted        byte = 0x00
	statusGroupTemporary        byte = 0x20
	statusGroupPermanent        byte = 0x40
	statusGroupTemporaryStopped byte = 0x60
)

var statusTexts = map[byte]string{
	0x00: "short message received by the SME",
	0x01: "short message forwarded by the SC to the SME but the SC is unable to confirm delivery",
	0x02: "short message replaced by the SC",
	0x20: "congestion",
	0x21: "SME busy",
	0x22: "no response from SME",
	0x23: "service rejected",
	0x24: "quality of service not available",
	0x25: "error in SME",
	0x40: "remote procedure error",
	0x41: "incompatible destination",
	0x42: "connection rejected by SME",
	0x43: "not obtainable",
	0x44: "quality of service not available",
	0x45: "no interworking available",
	0x46: "SM validity period expired",
	0x47: "SM deleted by originating SME",
	0x48: "SM deleted by SC administration",
	0x49: "SM does not exist",
	0x60: "congestion",
	0x61: "SME busy",
	0x62: "no response from SME",
	0x63: "service rejected",
	0x64: "quality of service not available",
	0x65: "error in SME",
}

// StatusText describes a TP-Status value, prefixed with its group, e.g.
// "delivered: short message received by the SME" or "temporary error, SC
// still trying: SME busy". Reserved and SC-specific values are named so.
func StatusText(st byte) string {
	if st >= 0x80 {
		return fmt.Sprintf("reserved status %#02x", st)
	}
	var group string
	switch st & statusGroupMask {
	case statusGroupCompleted:
		group = "delivered"
	case statusGroupTemporary:
		group = "temporary error, SC still trying"
	case statusGroupPermanent:
		group = "permanent error, SC not trying any more"
	default:
		group = "temporary error, SC not trying any more"
	}
	if t, ok := statusTexts[st]; ok {
		return group + ": " + t
	}
	if st&0x10 != 0 {
		return fmt.Sprintf("%s: SC specific status %#02x", group, st)
	}
	return fmt.Sprintf("%s: reserved status %#02x", group, st)
}

// StatusFinal reports whether the SC has finished with the message: it was
// delivered (0x00–0x1F) or failed for good (0x40–0x7F). 0x20–0x3F means the
// SC is still trying and another report may follow. Reserved values
// 0x80–0xFF are treated as final failures.
func StatusFinal(st byte) bool {
	return st >= 0x80 || st&statusGroupMask != statusGroupTemporary
}

// StatusDelivered reports whether the status says the message was delivered
// (transaction completed, 0x00–0x1F).
func StatusDelivered(st byte) bool {
	return st < 0x20
}

// StatusFailed reports whether the status is a final failure (0x40–0x7F, or
// a reserved value 0x80–0xFF).
func StatusFailed(st byte) bool {
	return st >= 0x40
}
