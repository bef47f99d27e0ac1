module github.com/sim-modem-api/sim-modem-api/test

go 1.25.0
