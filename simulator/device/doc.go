// Package device simulates a ZTE MF831 LTE USB stick in serial mode: the
// AT command interpreter behind /dev/ttyUSB2, io-agnostic.
//
// A Device holds the persistent state of the stick and its SIM; Serve runs
// one power-on session on a port (in production the master side of a pty
// in raw mode). Control methods (InjectSMS, SetNetwork, SetSIM, SetFaults,
// ...) are safe to call while a session runs; the URCs they cause are
// written to the port between responses.
//
// See the command reference below for the supported commands.
package device
