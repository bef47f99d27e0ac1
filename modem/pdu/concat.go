package pdu

// Concat returns the concatenation information of the first valid
// concatenated-SM element (IE 0x00 with an 8-bit reference or IE 0x08 with a
// 16-bit reference) of the user data header. Elements with a wrong length,
// zero parts or a sequence number outside 1..Total are ignored, as
// TS 23.040 §9.2.3.24.1 asks.
func (u UserData) Concat() (Concat, bool) {
	for _, ie := range u.Header {
		var c Concat
		switch {
		case ie.ID == IEConcat8 && len(ie.Data) == 3:
			c = Concat{Ref: uint16(ie.Data[0]), Total: int(ie.Data[1]), Seq: int(ie.Data[2])}
		case ie.ID == IEConcat16 && len(ie.Data) == 4:
			c = Concat{Ref: uint16(ie.Data[0])<<8 | uint16(ie.Data[1]), Total: int(ie.Data[2]), Seq: int(ie.Data[3]), Ref16: true}
		default:
			continue
		}
		if c.Total >= 1 && c.Seq >= 1 && c.Seq <= c.Total {
			return c, true
		}
	}
	return Concat{}, false
}

// ConcatIE returns the information element for c: IE 0x08 if c.Ref16, else
// IE 0x00 with the low 8 bits of c.Ref. Total and Seq are stored as octets
// (callers keep them in 1..255).
func ConcatIE(c Concat) InformationElement {
	if c.Ref16 {
		return InformationElement{ID: IEConcat16, Data: []byte{byte(c.Ref >> 8), byte(c.Ref), byte(c.Total), byte(c.Seq)}}
	}
	return InformationElement{ID: IEConcat8, Data: []byte{byte(c.Ref), byte(c.Total), byte(c.Seq)}}
}
