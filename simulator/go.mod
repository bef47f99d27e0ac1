module github.com/sim-modem-api/sim-modem-api/simulator

go 1.25.0

require (
	github.com/creack/pty v1.1.24
	github.com/sim-modem-api/sim-modem-api/modem v0.0.0
	go.bug.st/serial v1.8.0
	go.uber.org/goleak v1.3.0
	golang.org/x/sys v0.43.0
)

replace github.com/sim-modem-api/sim-modem-api/modem => ../modem
