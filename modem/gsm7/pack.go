package gsm7

// CR is the septet for carriage return, used for padding (TS 23.038 §6.1.2.3.1).
const CR = 0x0D

// normFill maps fillBits to 0..7; other values are treated as 0.
func normFill(fillBits int) int {
	if fillBits < 0 || fillBits > 7 {
		return 0
	}
	return fillBits
}

// PackedLen returns the number of octets that n septets occupy after
// fillBits leading fill bits.
func PackedLen(n, fillBits int) int {
	if n <= 0 {
		return 0
	}
	return (normFill(fillBits) + 7*n + 7) / 8
}

// Pack packs septets into octets, least significant bit first, after
// fillBits zero bits (0..6, used after a user data header so that the text
// starts on a septet boundary; values outside 0..7 are treated as 0). Only
// the low 7 bits of each byte are used; spare bits at the end are zero.
func Pack(septets []byte, fillBits int) []byte {
	fillBits = normFill(fillBits)
	out := make([]byte, PackedLen(len(septets), fillBits))
	bit := fillBits
	for _, s := range septets {
		v := uint16(s&0x7F) << (bit % 8)
		out[bit/8] |= byte(v)
		if hi := byte(v >> 8); hi != 0 {
			out[bit/8+1] |= hi
		}
		bit += 7
	}
	return out
}

// Unpack extracts n septets from packed octets, skipping fillBits leading
// bits (values outside 0..7 are treated as 0). If packed holds fewer than n
// septets, it returns as many as there are; callers that need exactly n
// should compare PackedLen(n, fillBits) with len(packed) first.
func Unpack(packed []byte, fillBits, n int) []byte {
	fillBits = normFill(fillBits)
	avail := (len(packed)*8 - fillBits) / 7
	if avail < 0 {
		avail = 0
	}
	if n > avail {
		n = avail
	}
	if n <= 0 {
		return []byte{}
	}
	out := make([]byte, n)
	bit := fillBits
	for i := range out {
		idx, shift := bit/8, bit%8
		v := uint16(packed[idx]) >> shift
		if shift > 1 && idx+1 < len(packed) {
			v |= uint16(packed[idx+1]) << (8 - shift)
		}
		out[i] = byte(v) & 0x7F
		bit += 7
	}
	return out
}

// PackPadded packs septets without fill bits for contexts where the length
// is known in octets only (USSD, cell broadcast), applying the <CR> rules of
// TS 23.038 §6.1.2.3.1: if the last octet would have 7 spare bits they carry
// <CR>, and if the septets end with a wanted <CR> exactly on an octet
// boundary another <CR> is added so that the receiver does not drop it.
func PackPadded(septets []byte) []byte {
	n := len(septets)
	switch {
	case n%8 == 7:
		septets = append(septets[:n:n], CR)
	case n > 0 && n%8 == 0 && septets[n-1] == CR:
		septets = append(septets[:n:n], CR)
	}
	return Pack(septets, 0)
}

// UnpackPadded unpacks all septets that packed octets hold (len*8/7) and
// removes a final <CR> that filled the 7 spare bits of the last octet, the
// reverse of PackPadded. A trailing <CR> that ends the text on an octet
// boundary is ambiguous; it is taken as padding, per TS 23.038 §6.1.2.3.1.
func UnpackPadded(packed []byte) []byte {
	s := Unpack(packed, 0, len(packed)*8/7)
	if n := len(s); n > 0 && n%8 == 0 && s[n-1] == CR {
		s = s[:n-1]
	}
	return s
}
