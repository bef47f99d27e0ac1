module github.com/sim-modem-api/sim-modem-api/modem

go 1.25.0

require (
	github.com/sim-modem-api/sim-modem-api/simulator v0.0.0
	go.uber.org/goleak v1.3.0
)

replace github.com/sim-modem-api/sim-modem-api/simulator => ../simulator
