// Package smsmem reads what a modem shows of its SMS memory in PDU mode
// (TS 27.005): the listing of AT+CMGL ("+CMGL: <index>,<stat>,[<alpha>],
// <length>" and a PDU line per message), the answer of AT+CMGR=<index>
// ("+CMGR: <stat>,[<alpha>],<length>" and the PDU line) and the store
// fills of AT+CPMS.
//
// The parsers are strict: a header that does not have that shape, a
// <stat> outside 0..4 or a line that is neither a header nor follows one
// is an error, and the caller does not guess. A header whose PDU line is
// missing gives an Entry with PDU ""; a PDU line that does not match its
// header's length is kept as it is and Entry.Consistent reports it, so
// that the caller reads it again (AT+CMGR) before committing anything.
// Empty lines are skipped.
package smsmem
