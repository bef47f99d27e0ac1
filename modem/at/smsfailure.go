package at

import "errors"

// PermanentSMSError reports whether err, the answer to a message command
// (AT+CMGS, AT+CMSS, AT+CMGW), says that sending this message will never
// succeed, so retrying it is pointless; false for everything that may
// pass (the network's temporary causes, a full or busy store, a SIM that
// waits for its PIN, no network, timeouts, a lost connection, a plain
// ERROR). The one classification of SMS failures; the api's outbox
// retries the others with backoff.
//
//   - +CMS ERROR 0–127, the RP causes of TS 24.011 Annex E-2 (table
//     E-2): permanent except the ones it marks temporary: 17 network
//     failure, 22 memory capacity exceeded, 27 destination out of order,
//     38 network out of order, 41 temporary failure, 42 congestion, 47
//     resources unavailable.
//   - +CMS ERROR 128–255, TP-FCS of TS 23.040 §9.2.3.22: permanent except
//     0xC0 SC busy, 0xC2 SC system failure, 0xD4 (U)SIM application
//     toolkit busy and 0xFF unspecified.
//   - +CMS ERROR 300–500 (TS 27.005 §3.2.5): permanent are 302 operation
//     not allowed, 303 operation not supported, 304/305 invalid PDU/text
//     mode parameter, 330 SMSC address unknown (no SMSC configured: a
//     human must set it) and 340 no +CNMA acknowledgement expected; 300
//     ME failure, 301 service reserved, 310–318 SIM not ready, 320
//     memory failure, 321 invalid index, 322 memory full, 331 no network
//     service, 332 network timeout and 500 unknown are not.
//   - +CME ERROR (TS 27.007 §9.2): permanent are 3 operation not allowed
//     and 4 operation not supported.
func PermanentSMSError(err error) bool {
	var cms *CMSError
	var cme *CMEError
	switch {
	case errors.As(err, &cms):
		c := cms.Code
		switch {
		case c < 0:
			return false // a text the table does not know: not known to be permanent
		case c <= 127:
			switch c {
			case 17, 22, 27, 38, 41, 42, 47:
				return false
			}
			return true
		case c <= 255:
			switch c {
			case 0xC0, 0xC2, 0xD4, 0xFF:
				return false
			}
			return true
		}
		switch c {
		case 302, 303, 304, 305, 330, 340:
			return true
		}
		return false
	case errors.As(err, &cme):
		return cme.Code == 3 || cme.Code == 4
	}
	return false
}
