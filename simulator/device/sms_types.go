package device

import (
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
)

// IncomingSMS describes a mobile-terminated SMS to deliver to the modem.
type IncomingSMS struct {
	// From is the sender: "+4366...", national digits, a short code, or an
	// alphanumeric name ("MyBank").
	From string
	// Text is the message; the smallest alphabet that fits is chosen
	// unless Alphabet is set. Long text is split into concatenated parts.
	Text string
	// Alphabet is "" (automatic), "gsm7", "ucs2" or "8bit".
	Alphabet string
	// Data is the payload when Alphabet is "8bit".
	Data []byte
	// Flash makes it a class 0 message.
	Flash bool
	// Ref16 uses 16-bit concatenation references.
	Ref16 bool
	// Order is the delivery order of the parts, 1-based (e.g. [2,1,3]);
	// nil delivers them in order. A part listed twice is delivered twice
	// (a duplicate, as networks sometimes repeat a part): [3,1,3,2].
	Order []int
	// Time is the service centre time stamp; zero means Config.Clock().
	Time time.Time
	// PDU is alternatively a raw SMS-DELIVER in hex, the SMSC address
	// first (as +CMT/+CMGR show it); when set, the fields above are
	// ignored.
	PDU string
}

// Injected reports where the parts of an injected SMS went.
type Injected struct {
	Parts   int   // parts the message was split into
	Stored  []int // indices of the parts stored in the receive store (+CPMS <mem3>)
	Waiting int   // parts held "in the network" because the store is full or the modem is offline
	Direct  int   // parts routed to the TE as +CMT
}

// SentPart is one SMS-SUBMIT the modem sent.
type SentPart struct {
	MR       int         // message reference the modem assigned
	PDU      string      // TPDU hex as submitted (PDU mode) or built (text mode)
	Concat   *pdu.Concat // concatenation information, nil for a single SMS
	Alphabet string      // "gsm7", "ucs2" or "8bit"
	// Status is the TP-Status of the last status report sent for the
	// part, -1 if none.
	Status int
}

// SentSMS is a message the modem sent: its parts grouped by recipient and
// concatenation reference. A message shows up once its first part is
// submitted and grows as parts arrive.
type SentSMS struct {
	ID                    int
	Time                  time.Time // when the first part was submitted
	Recipient             string
	Text                  string // decoded text, parts joined in sequence order; hex for 8-bit data
	Alphabet              string // of the first part
	Parts                 []SentPart
	StatusReportRequested bool
	Validity              time.Duration // relative validity period, 0 if none
	Class                 int           // message class 0..3, -1 if none
	Mode                  string        // "pdu" or "text"
}

// ReportMode says which status reports the network sends for submissions
// that request one.
type ReportMode string

// Report modes.
const (
	ReportDeliver ReportMode = "deliver" // a "delivered" report follows each (default)
	ReportFail    ReportMode = "fail"    // a permanent-error report (TP-ST 0x41) follows each
	ReportManual  ReportMode = "manual"  // none until SendStatusReport
)

// StoredSMS is one message in a store.
type StoredSMS struct {
	Store string // "SM", "ME" or "SR"
	Index int    // 0-based
	Stat  int    // 0 unread, 1 read, 2 unsent, 3 sent
	PDU   string // SMSC address and TPDU in hex, as +CMGR shows it
	From  string // originator (received), recipient (stored submit or status report)
	Text  string // decoded text; hex for 8-bit data; status text for a status report
}

// Status values used by the report modes.
const (
	statusDelivered byte = 0x00 // short message received by the SME
	statusFailed    byte = 0x41 // permanent error: incompatible destination
)
