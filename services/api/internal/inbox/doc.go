// Package inbox moves every received SMS and every status report from the
// modem's message stores into the api's message store, exactly once.
//
// The relay drops whatever the modem says while the api is not in
// control, so the indications (+CMTI for a stored SMS, +CDSI for a stored
// status report; AT+CNMI=2,1,0,2,0, see docs/modem-facts.md) are only a
// hint: the modem's storage is the buffer. A Sweeper sweeps
//
//   - at every (re)connect (readiness; main calls Trigger),
//   - on every +CMTI and +CDSI (HandleURC, subscribed in the events
//     dispatcher), and
//   - every Config.Interval (API_INBOX_SWEEP), after which it also
//     delivers the concatenated messages that waited longer than the
//     store's IncompleteAfter (API_INBOX_INCOMPLETE_AFTER) as incomplete.
//
// A sweep is one scheduler job of class send (reads never starve it, and
// no other job's command comes between two of its commands). It reads the
// selected stores (AT+CPMS?), then for each of SM, ME and SR selects it
// (AT+CPMS="SR"), lists it in PDU mode (AT+CMGL=4) and, for each received
// message (stat 0 REC UNREAD or 1 REC READ; stat 2 and 3 are the outbox's
// and are left alone) and each status report:
//
//  1. checks the PDU line against the announced length and, if it does not
//     match (noise, a lost line), reads the message alone (AT+CMGR);
//  2. commits it: store.SavePart (an SMS-DELIVER, raw PDU kept, reassembled
//     there) or store.SaveReport (an SMS-STATUS-REPORT, matched to its
//     part there); an undecodable PDU is stored as undecodable;
//  3. only then deletes it from the modem (AT+CMGD=<index>).
//
// A crash between 2 and 3 leaves a message that is stored and still in
// the modem: the next sweep reads it again, the store recognises it (its
// key is the modem, the store, the index and the PDU) and changes nothing,
// and the sweep deletes it. Nothing is deleted before it is committed, so
// nothing is lost; nothing committed is committed twice. Finally the api's
// selection is restored (AT+CPMS="SM","SM","SM").
//
// A full store (AT+CPMS used == total, +CMS ERROR 322) is drained like any
// other; a sweep that deleted messages triggers another, which takes the
// messages the network held while the store was full (they arrive as the
// space frees up).
package inbox
