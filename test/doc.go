// Package test holds the integration tests that run the modem layer
// against the simulated ZTE MF831 on a real pseudo-terminal.
package test
