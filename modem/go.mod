module github.com/sim-modem-api/sim-modem-api/modem

go 1.25.0

require go.uber.org/goleak v1.3.0 // indirect
