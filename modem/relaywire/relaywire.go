// Package relaywire holds the relay's wire constants: the defaults of the
// original socket server and the exact texts the relay sends to a client
// before it closes the connection. A client (such as the API server) may
// import it to recognise those texts instead of copying them.
//
// Every message is sent as plain ASCII without a line terminator, and the
// relay closes the connection right after it, as the original did.
package relaywire

import "time"

// Defaults of the original socket server.
const (
	// DefaultListen is the TCP address the relay listens on.
	DefaultListen = ":8080"
	// DefaultDevice is the modem's AT port on the ZTE MF-831 in serial mode.
	DefaultDevice = "/dev/ttyUSB2"
	// DefaultBaud is the serial speed; the port is always raw 8N1.
	DefaultBaud = 115200
	// DefaultSentinel is the in-band heartbeat a client sends on the same
	// socket. It is removed from the byte stream and never reaches the modem.
	DefaultSentinel = "<heartbeat>"
	// DefaultHeartbeatTimeout is how long a client in control may go without
	// sending a heartbeat (counted from connect, then from the last one).
	DefaultHeartbeatTimeout = 5000 * time.Millisecond
	// DefaultSentinelHold bounds how long the relay holds back bytes that
	// may start a sentinel (a heartbeat split across TCP segments) before
	// it treats them as data. 1 s survives the retransmission of a lost
	// segment (Linux's minimum retransmission timeout is 200 ms) and its
	// first backoff; heartbeats come every 2 s and AT lines end in CR, so
	// the hold costs nothing in practice. It must stay below the heartbeat
	// timeout. (New; the original did not recognise split heartbeats.)
	DefaultSentinelHold = time.Second
)

// Messages sent to a client just before the relay closes its connection.
const (
	// MsgAlreadyInControl goes to a client that connects while another one
	// is in control. The client in control is not disturbed. (Original text.)
	MsgAlreadyInControl = "There's already a client in control"
	// MsgHeartbeatTimeout goes to the client in control when no heartbeat
	// arrived within the heartbeat timeout. (Original text.)
	MsgHeartbeatTimeout = "Your heartbeat timeout elapsed"
	// MsgSerialUnavailable goes to the client in control when the serial
	// device fails or disappears. (Original text; unlike the original, the
	// relay itself keeps running and reopens the device when it is back.)
	MsgSerialUnavailable = "Serial port is or became unavailable, shutting down"
	// MsgNoSerialDevice goes to a client that connects while there is no
	// serial device (not plugged in yet, or replugging). (New.)
	MsgNoSerialDevice = "Serial port is unavailable, try again later"
	// MsgRelayShuttingDown goes to the client in control, and to a client
	// that connects, while the relay is stopping (SIGTERM). (New.)
	MsgRelayShuttingDown = "The relay is shutting down"
)
