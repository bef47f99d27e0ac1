// Package e2e is the end-to-end suite of the api: it builds the simulator,
// the relay and the api, runs them as processes on loopback with free
// ports, and drives the api over HTTP while checking, through the
// simulator's control API, what reached the modem.
//
// E2E_BENCH=1 also runs the load figures (TestBench*), which are not pass/fail.
package e2e
