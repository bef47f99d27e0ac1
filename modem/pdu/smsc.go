package pdu

import "fmt"

// EncodeSMSC encodes the SMSC address that precedes a TPDU in PDU mode
// (TS 27.005 §4.3, an RP address of TS 24.011 §8.2.5.1): the length in
// octets, the type of address and the digits. The zero Address encodes as
// the single octet 0x00, which tells the modem to use its default SMSC
// (AT+CSCA).
func EncodeSMSC(a Address) ([]byte, error) {
	if a == (Address{}) {
		return []byte{0x00}, nil
	}
	if a.TON == TONAlphanumeric {
		return nil, &EncodeError{Field: "SMSC address", Err: fmt.Errorf("%w: an SMSC address cannot be alphanumeric", ErrInvalidAddress)}
	}
	toa, err := typeOfAddress(a)
	if err != nil {
		return nil, &EncodeError{Field: "SMSC address", Err: err}
	}
	value, err := encodeSemiOctets(addressDigits(a))
	if err != nil {
		return nil, &EncodeError{Field: "SMSC address", Err: err}
	}
	return append([]byte{byte(1 + len(value)), toa}, value...), nil
}

// SplitSMSC splits a PDU as a modem shows it in PDU mode (+CMGR, +CMGL,
// +CMT, +CDS) into the SMSC address and the TPDU. A length octet of 0 gives
// the zero Address. The returned TPDU aliases b.
func SplitSMSC(b []byte) (smsc Address, tpdu []byte, err error) {
	r := &reader{b: b}
	n, err := r.octet("SMSC address length")
	if err != nil {
		return Address{}, nil, err
	}
	if n == 0 {
		return Address{}, b[1:], nil
	}
	if n > 1+maxAddressDigits/2 {
		return Address{}, nil, r.failAt("SMSC address length", 0, fmt.Errorf("%w: %d octets exceeds %d", ErrInvalid, n, 1+maxAddressDigits/2))
	}
	toa, err := r.octet("SMSC type of address")
	if err != nil {
		return Address{}, nil, err
	}
	value, err := r.take("SMSC address", int(n)-1)
	if err != nil {
		return Address{}, nil, err
	}
	ton, npi := splitTypeOfAddress(toa)
	if ton == TONAlphanumeric {
		return Address{}, nil, r.failAt("SMSC type of address", 1, fmt.Errorf("%w: alphanumeric SMSC address", ErrInvalidAddress))
	}
	digits, err := decodeSemiOctets(value, 2*len(value))
	if err != nil {
		return Address{}, nil, r.failAt("SMSC address", 2, err)
	}
	smsc = Address{Number: digits, TON: ton, NPI: npi}
	if ton == TONInternational {
		smsc.Number = "+" + digits
	}
	return smsc, b[r.off:], nil
}
