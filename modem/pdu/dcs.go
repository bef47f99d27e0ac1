package pdu

// Coding groups of the data coding scheme (TS 23.038 §4), upper nibble.
//
//	00xx general data coding         bit 5 compressed, bit 4 class present,
//	01xx automatic deletion group    bits 3-2 alphabet, bits 1-0 class
//	1000..1011 reserved              alphabet treated as 8-bit (see Alphabet)
//	1100 message waiting, discard    GSM 7-bit
//	1101 message waiting, store      GSM 7-bit
//	1110 message waiting, store      UCS-2
//	1111 data coding/message class   bit 2 alphabet (GSM 7-bit or 8-bit), bits 1-0 class

// Alphabet returns how TP-User-Data is coded.
//
// Reserved alphabets (value 11 in the general groups) and the reserved coding
// groups 1000–1011 are reported as Alphabet8Bit, so that the payload is kept
// as octets rather than decoded wrongly; compressed user data (bit 5 of the
// general groups) is also reported as Alphabet8Bit, since its TP-UDL counts
// octets and its text needs decompression (TS 23.040 §9.2.3.16), which this
// package does not do.
func (d DCS) Alphabet() Alphabet {
	switch d >> 4 {
	case 0x0, 0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0x7:
		if d.Compressed() {
			return Alphabet8Bit
		}
		switch d >> 2 & 0x03 {
		case 0:
			return AlphabetGSM7
		case 2:
			return AlphabetUCS2
		default: // 01 8-bit, 11 reserved
			return Alphabet8Bit
		}
	case 0xC, 0xD:
		return AlphabetGSM7
	case 0xE:
		return AlphabetUCS2
	case 0xF:
		if d&0x04 != 0 {
			return Alphabet8Bit
		}
		return AlphabetGSM7
	default: // reserved coding groups 1000..1011
		return Alphabet8Bit
	}
}

// Compressed reports whether the general data coding groups mark the user
// data as compressed.
func (d DCS) Compressed() bool {
	return d < 0x80 && d&0x20 != 0
}

// Class returns the message class 0..3 (0 = flash, shown immediately;
// 1 = ME specific; 2 = SIM specific; 3 = TE specific) and whether the DCS
// carries one.
func (d DCS) Class() (class int, ok bool) {
	switch {
	case d < 0x80 && d&0x10 != 0, d >= 0xF0:
		return int(d & 0x03), true
	}
	return 0, false
}

// MessageWaiting reports the indication of the message waiting coding groups
// 1100–1110: kind 0 voicemail, 1 fax, 2 e-mail, 3 other; active is whether the
// indication is set; store is false for group 1100 (the message may be
// discarded). ok is false for other groups.
func (d DCS) MessageWaiting() (kind int, active, store, ok bool) {
	switch d >> 4 {
	case 0xC, 0xD, 0xE:
		return int(d & 0x03), d&0x08 != 0, d>>4 != 0xC, true
	}
	return 0, false, false, false
}

// NewDCS returns a general data coding DCS for the alphabet, uncompressed,
// with the message class 0..3 (class 0 is a flash message), or without a
// class if class is -1 or any value outside 0..3. Alphabets other than the
// three defined ones give 8-bit data.
//
// NewDCS(AlphabetGSM7, -1) is 0x00, NewDCS(AlphabetUCS2, -1) is 0x08 and
// NewDCS(AlphabetGSM7, 0) is 0x10.
func NewDCS(a Alphabet, class int) DCS {
	var d DCS
	switch a {
	case AlphabetGSM7:
	case AlphabetUCS2:
		d = 0x08
	default:
		d = 0x04
	}
	if class >= 0 && class <= 3 {
		d |= 0x10 | DCS(class)
	}
	return d
}
