//go:build linux

package e2e

import "time"

// The disruptions of the crash loops, as methods so that a loop takes one
// as a value ((*stack).restartAPIHard).

// restartAPIHard kills the api with SIGKILL and starts it again on the
// same data directory.
func (s *stack) restartAPIHard() {
	_ = s.apiProc.cmd.Process.Kill()
	<-s.apiProc.done
	s.apiProc = start(s.t, s.dir, "api", s.apiEnv)
	s.waitHTTP("http://" + s.api + "/healthz")
}

// restartRelayHard kills the relay with SIGKILL and starts it again.
func (s *stack) restartRelayHard() {
	_ = s.relay.cmd.Process.Kill()
	<-s.relay.done
	s.startRelay()
}

// replug unplugs the simulated modem for 150 ms and waits until it is
// back.
func (s *stack) replug() {
	s.ctlCall("POST", "/unplug", `{"for":"150ms"}`, nil)
	time.Sleep(200 * time.Millisecond)
}
