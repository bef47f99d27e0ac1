// Package at is the AT command engine of the modem layer: it drives a
// V.250 / 3GPP TS 27.007 modem (here a ZTE MF831 in serial mode, reached
// through the relay's TCP connection) over any io.ReadWriter.
//
// # Pipeline
//
// One reader goroutine reads the stream and feeds a line splitter (CR and
// LF both end a line, empty lines and lone terminators vanish, the "> "
// prompt is recognised without a terminator). Each line is classified
// against the command in flight: its echo is skipped; OK, ERROR,
// +CME ERROR and +CMS ERROR end it; lines named like one of its extended
// commands belong to it; lines named like a recognised URC (StandardURCs,
// WithURC, Handle) are URCs, even in the middle of a response; anything
// else is information text. A response in V1 framing starts with CR LF or
// the echo, so lines that began, or whose framing CR began, before the
// command was sent (noise after the previous answer, a URC's tail) never
// belong to it. URCs, two-line ones with their
// PDU line, go to a queue that a dispatcher goroutine delivers to the
// handlers, so a slow handler never stalls reading. Lines that belong to
// nothing reach the default handler (logged by default): nothing is
// dropped silently.
//
// Commands run one at a time in FIFO order, each with a timeout (default
// 3 s; the SMS body phase 10 s). Every write is one Write call under a
// lock, so WriteRaw (the relay heartbeat) never lands inside a command
// line or SMS body. Tracing is a decorator of the stream (Trace,
// WithTrace); metrics come from WithObserver.
//
// # Resynchronisation guarantee
//
// A command that timed out or was cancelled is abandoned: the engine
// stops attributing anything to it, counts its final result code as owed
// and marks itself out of sync. Before the next command it resyncs (see
// Engine.Resync): it sends ESC CR (cancelling a possibly open prompt
// without sending it), lets owed finals drain, then sends
// ATQ0V1E0S7=<n> (result codes on and verbose, echo off, and the
// S-parameter S7 set to a fresh random value) and reads S7 back. Because
// the modem executes lines strictly in order, the read's information
// text can only appear after every earlier line has been answered, so
// the first final after it is the probe's own. Thus no late final result
// code (or information line) is ever taken as the answer to a later
// command; late lines go to the default handler marked Late. If the
// probe goes unanswered the command fails with ErrOutOfSync, unsent.
//
// # Recovery on a new connection
//
// Engine.Recover runs the same sequence unconditionally. The owner calls
// it first on every new connection, because the modem keeps whatever
// state the previous client left: a "> " prompt still open (the client
// died between AT+CMGS=<n> and the body, and the next line would become
// message text), numeric (ATV0) or no (ATQ1) result codes, echo on. The
// ESC goes first, so nothing the engine sends can become an SMS body; the
// modem may answer the cancelled prompt with a stray final, which the
// probe sorts out like any late answer; Q0V1 come before anything whose
// answer is awaited, and while recovering the numeric finals "0" and "4"
// count as finals. The owner then re-asserts its own settings (the api:
// modemops.Init).
//
// Limits: outside recovery only verbose result codes (ATV1) are
// understood: a command answered in ATV0 or not at all (ATQ1) times out,
// and the resync after it restores V1 and Q0.
// A URC named like the command in flight is taken as its information
// text (a "+CREG: 1" URC during AT+CREG=2 lands in that command's
// response); the engine cannot tell them apart by name alone.
package at
