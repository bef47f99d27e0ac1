package pdu_test

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
)

// Sending a text: split it, build one SMS-SUBMIT per part, prefix the
// default-SMSC octet for AT+CMGS in PDU mode.
func ExampleSplitText() {
	alpha, parts, err := pdu.SplitText(strings.Repeat("All work and no play. ", 8), 42, false)
	if err != nil {
		panic(err)
	}
	dest, err := pdu.ParseAddress("+4366012345")
	if err != nil {
		panic(err)
	}
	smsc, _ := pdu.EncodeSMSC(pdu.Address{})
	for _, ud := range parts {
		s := pdu.Submit{Destination: dest, DCS: pdu.NewDCS(alpha, -1), UD: ud}
		tpdu, err := s.Encode()
		if err != nil {
			panic(err)
		}
		c, _ := ud.Concat()
		fmt.Printf("part %d/%d: AT+CMGS=%d, %d hex digits\n", c.Seq, c.Total, len(tpdu), 2*len(smsc)+2*len(tpdu))
	}
	// Output:
	// part 1/2: AT+CMGS=152, 306 hex digits
	// part 2/2: AT+CMGS=39, 80 hex digits
}

// Reading a +CMT or +CMGR PDU: split off the SMSC, then decode by type.
func ExampleDecodeMT() {
	raw, _ := hex.DecodeString("07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37")
	smsc, tpdu, err := pdu.SplitSMSC(raw)
	if err != nil {
		panic(err)
	}
	msg, err := pdu.DecodeMT(tpdu)
	if err != nil {
		panic(err)
	}
	switch m := msg.(type) {
	case *pdu.Deliver:
		fmt.Println(smsc, m.Originator, m.Timestamp, m.UD.Text)
	case *pdu.StatusReport:
		fmt.Println(m.MessageRef, pdu.StatusText(m.Status))
	}
	// Output:
	// +27381000015 27838890001 1999-03-29 15:16:59 +0200 +02:00 hellohello
}
