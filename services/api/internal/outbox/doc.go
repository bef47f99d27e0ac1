// Package outbox sends the stored outbound messages, exactly once: one
// Worker per modem reads its work from the store (never only from
// memory), runs each message as one scheduler job of the send class (all
// its parts, paced; other job classes run between messages), and records
// every step in the store before the next one, so that a crash (kill -9),
// a restart, a lost relay session or an unplugged stick neither repeats a
// submission nor loses one.
//
// # When it runs
//
// At start (the store's queued and sending messages are its work), on
// Kick (a message was accepted), on Reconnected (the relay session is
// ready again: the modem's memory is reconciled first), when the next
// message's sendAt comes, and after a backoff (RetryMin doubling to
// RetryMax, ±25 % jitter). store.ClaimNext decides what is next: expired
// messages (validUntil passed) leave the queue; a message this modem was
// sending is resumed first; else the oldest due queued message. Cancelled
// messages are never claimed.
//
// # The route of a part (TS 27.005 §3.5)
//
//	commit PartWriting      (queued → writing)
//	AT+CMGW=<len> + PDU     → +CMGW: <index>   (stored STO UNSENT in <mem2>, "SM")
//	commit PartWritten(idx) (writing → written)
//	wait for the pacing
//	commit PartSubmitting   (written → submitting)
//	AT+CMSS=<index>         → +CMSS: <mr>      (the modem marks the copy STO SENT)
//	commit PartSent(mr)     (submitting → sent; never submitted again)
//	AT+CMGD=<index>
//	commit PartRemoved      (the index is cleared)
//
// # Crash points and what the next start does
//
// After any crash the next job reconciles the modem's memory (AT+CMGL=2
// and AT+CMGL=3, PDU mode, against store.ModemCopies) and then resumes the
// message that was sending from its parts' states:
//
//	crash …                               stored state   modem memory     recovery
//	before PartWriting                    queued         —                write it (the normal route)
//	after PartWriting, before AT+CMGW     writing        —                no matching STO UNSENT copy: back to queued, written again
//	after AT+CMGW ran, answer lost        writing        STO UNSENT copy  the copy with the same TPDU (TP-MR ignored) is adopted: PartWritten(its index)
//	after PartWritten                     written        STO UNSENT       submitted (AT+CMSS) from its index
//	after PartSubmitting, before AT+CMSS  submitting     STO UNSENT       AT+CMGR=<index> says STO UNSENT: it did not go; submitted again
//	after AT+CMSS ran, answer lost        submitting     STO SENT         AT+CMGR says STO SENT: PartSent with no TP-MR (store.NoMR); never sent again
//	after PartSent, before AT+CMGD        sent + index   STO SENT         the copy (matched by index and content) is deleted, PartRemoved
//	after AT+CMGD ran, answer lost        sent + index   —                the index is not listed any more: PartRemoved
//	after PartRemoved                     sent           —                nothing; the next part
//
// A copy that AT+CMGL lists and that no part knows (a second write of the
// same part, or a message another client stored) is deleted unsent; so is
// nothing else: an index the store knows is only deleted when its content
// is the part's, so a received SMS that took a freed index is never
// touched (received messages are stat 0/1, the inbox's).
//
// # Failures
//
// The modem's answers are classified in one place, at.PermanentSMSError:
// a permanent one (an RP or TP cause the network will not change its mind
// about, invalid PDU, no SMSC configured) fails the part and the message
// with the modem's error as the reason; anything else (no network, a
// temporary network cause, memory full +CMS ERROR 322 until the inbox
// sweep frees space, SIM busy or locked, timeouts, a lost connection) is
// retried with backoff until RetryMaxAge after the message was accepted
// (or its sendAt), then the part fails (only if it is known not to have
// gone out). An answered AT+CMSS error leaves the copy STO UNSENT, so the
// part goes back to written; AT+CMSS answering +CMS ERROR 321 (the copy
// is gone) writes it again.
//
// # The windows that remain
//
//   - A part found submitting whose copy is gone (someone deleted it, or
//     the SIM was swapped and swapped back with its memory cleared) cannot
//     be resolved: AT+CMSS may or may not have sent it. It becomes unknown
//     (never submitted again) and the message fails with "outcome
//     unknown". Nothing the api does leads there.
//   - The route relies on AT+CMSS marking the stored copy STO SENT, as TS
//     27.005 describes <stat> 3 and modems do (the Cinterion EHS6 manual:
//     the status changes unless a new <da> is given); the simulator does.
//     On a firmware that did not, a part whose AT+CMSS answer was lost
//     would read STO UNSENT and be sent twice: check it on the stick with
//     AT+CMGW, AT+CMSS, AT+CMGR (docs/modem-facts.md).
//   - An SMSC that accepted a submission but whose acknowledgement the
//     network lost (+CMS ERROR 332 network timeout) may deliver it while
//     the part is retried: the same as any phone's resend.
//
// Status reports need the TP-MR; a part resolved from STO SENT has none,
// so its report stays unmatched (stored, visible).
package outbox
