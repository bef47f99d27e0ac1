// Package pdu encodes and decodes SMS transfer-layer PDUs (TPDUs) as defined in
// 3GPP TS 23.040, with the alphabets of 3GPP TS 23.038, as exchanged with a modem
// in PDU mode (3GPP TS 27.005 chapter 4).
//
// It covers the three PDUs a phone-side application needs in both directions:
// SMS-SUBMIT (mobile originated), SMS-DELIVER and SMS-STATUS-REPORT (mobile
// terminated). The SMSC address that a modem puts before a TPDU is handled by
// EncodeSMSC and SplitSMSC.
package pdu

import "time"

// TypeOfNumber is the TON field of an address (TS 23.040 §9.1.2.5).
type TypeOfNumber byte

// Types of number.
const (
	TONUnknown         TypeOfNumber = 0
	TONInternational   TypeOfNumber = 1
	TONNational        TypeOfNumber = 2
	TONNetworkSpecific TypeOfNumber = 3
	TONSubscriber      TypeOfNumber = 4
	TONAlphanumeric    TypeOfNumber = 5
	TONAbbreviated     TypeOfNumber = 6
)

// NumberingPlan is the NPI field of an address (TS 23.040 §9.1.2.5).
type NumberingPlan byte

// Numbering plans.
const (
	NPIUnknown NumberingPlan = 0
	NPIISDN    NumberingPlan = 1
)

// Address is a TP address or an RP (SMSC) address.
//
// Use ParseAddress to build one from user input. NPI values other than the
// constants are kept as they are (e.g. 8, national, in some SMSC captures).
//
// Number holds the digits as text. For TONInternational it starts with '+'
// ("+4366012345"); for TONAlphanumeric it is the decoded text ("Bank");
// otherwise it is the digits as they are (may contain '*', '#', 'a', 'b', 'c').
type Address struct {
	Number string
	TON    TypeOfNumber
	NPI    NumberingPlan
}

// Alphabet is the character set of the user data, from the data coding scheme.
type Alphabet byte

// Alphabets (TS 23.038 §4).
const (
	AlphabetGSM7 Alphabet = 0 // GSM 7-bit default alphabet, packed septets
	Alphabet8Bit Alphabet = 1 // 8-bit data
	AlphabetUCS2 Alphabet = 2 // UCS-2 / UTF-16BE
)

// InformationElement is one element of a user data header (TS 23.040 §9.2.3.24).
type InformationElement struct {
	ID   byte
	Data []byte
}

// Information element identifiers used by this package.
const (
	IEConcat8  byte = 0x00 // concatenated SM, 8-bit reference
	IEConcat16 byte = 0x08 // concatenated SM, 16-bit reference
)

// Concat describes the part of a concatenated message that a PDU carries
// (TS 23.040 §9.2.3.24.1 and §9.2.3.24.8).
type Concat struct {
	Ref   uint16 // reference, the same in all parts of one message
	Total int    // number of parts, 1..255
	Seq   int    // this part, 1..Total
	Ref16 bool   // the reference is 16 bits (IE 0x08) rather than 8 bits (IE 0x00)
}

// UserData is the decoded TP-UD of a PDU.
//
// For AlphabetGSM7 and AlphabetUCS2, Text holds the decoded text (UTF-8) and
// Data is nil; for Alphabet8Bit, Data holds the octets and Text is empty.
// The alphabet is the one of the PDU's DCS (see DCS.Alphabet). A header is
// written, and TP-UDHI set, if Header is not empty. UCS-2 text is encoded as
// UTF-16BE, so characters outside the BMP take two code units; on decode an
// unpaired surrogate becomes U+FFFD.
type UserData struct {
	Header []InformationElement
	Text   string
	Data   []byte
}

// DCS is the TP data coding scheme octet (TS 23.038 §4).
type DCS byte

// Submit is an SMS-SUBMIT TPDU (TS 23.040 §9.2.2.2).
type Submit struct {
	RejectDuplicates    bool
	ReplyPath           bool
	StatusReportRequest bool
	MessageRef          byte
	Destination         Address
	PID                 byte
	DCS                 DCS
	// Validity is the relative validity period; zero means none (TP-VPF 00).
	// Encoding rounds it to the nearest representable value (TS 23.040 §9.2.3.12.1).
	Validity time.Duration
	// ValidityAbsolute is an absolute validity period (TP-VPF 11), zero if
	// none. At most one of Validity, ValidityAbsolute and ValidityEnhanced
	// may be set.
	ValidityAbsolute time.Time
	// ValidityEnhanced holds the 7 raw octets of an enhanced validity period
	// (TP-VPF 01, TS 23.040 §9.2.3.12.3), nil if none.
	ValidityEnhanced []byte
	UD               UserData
}

// Deliver is an SMS-DELIVER TPDU (TS 23.040 §9.2.2.1).
type Deliver struct {
	MoreMessagesToSend     bool // TP-MMS=0 in the PDU means more messages are waiting
	ReplyPath              bool
	StatusReportIndication bool
	Originator             Address
	PID                    byte
	DCS                    DCS
	// Timestamp is the service centre time stamp, in a time.FixedZone carrying
	// the offset from the PDU.
	Timestamp time.Time
	UD        UserData
}

// StatusReport is an SMS-STATUS-REPORT TPDU (TS 23.040 §9.2.2.3).
type StatusReport struct {
	MoreMessagesToSend bool
	Qualifier          bool // TP-SRQ: report of an SMS-COMMAND rather than an SMS-SUBMIT
	MessageRef         byte
	Recipient          Address
	SCTimestamp        time.Time
	DischargeTime      time.Time
	Status             byte // TP-ST (TS 23.040 §9.2.3.15)

	// Optional parameters after TP-ST, announced by TP-PI. Encoding writes
	// TP-PI when any of HasPID, HasDCS, HasUD is set; decoding sets them from
	// TP-PI. Without HasDCS the user data is in the GSM 7-bit alphabet.
	HasPID bool
	PID    byte
	HasDCS bool
	DCS    DCS
	HasUD  bool
	UD     UserData
}
