module github.com/sim-modem-api/sim-modem-api/simulator

go 1.25.0

require github.com/sim-modem-api/sim-modem-api/modem v0.0.0

require (
	github.com/creack/goselect v0.1.2 // indirect
	github.com/creack/pty v1.1.24 // indirect
	go.bug.st/serial v1.8.0 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	golang.org/x/sys v0.43.0 // indirect
)

replace github.com/sim-modem-api/sim-modem-api/modem => ../modem
